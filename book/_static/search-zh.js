/*
 * Chinese search queries, split into the words of the search index
 * (loaded on the Chinese edition only; book/_ext/bilingual.py).
 *
 * Sphinx indexes Chinese text with jieba, which cuts it into words ("随机种子" is
 * indexed as "随机" and "种子"), but its search page splits a query only at spaces
 * and punctuation. A Chinese query, written without spaces, then reaches the index
 * as one unknown "word" and finds nothing. This splitter cuts each run of Chinese
 * characters at the longest words that the index knows (forward maximum matching),
 * so "随机种子" searches for "随机" and "种子" like any two-word query. Single
 * characters are not indexed and are skipped. searchtools.js uses this function
 * because it is defined first (it defines its own only when none exists).
 */
var splitQuery = (query) => {
  const LONGEST = 8;  // characters; longer index words are rare
  const words = query
    .split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)
    .filter((term) => term);
  const index = typeof Search !== "undefined" ? Search._index : null;
  if (!index) return words;
  const known = (word) =>
    Object.prototype.hasOwnProperty.call(index.terms, word) ||
    Object.prototype.hasOwnProperty.call(index.titleterms, word);
  const result = [];
  for (const word of words) {
    for (const run of word.match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu)) {
      if (!/\p{Script=Han}/u.test(run) || known(run)) {
        result.push(run);
        continue;
      }
      let start = 0;
      while (start < run.length) {
        let end = Math.min(run.length, start + LONGEST);
        while (end > start + 1 && !known(run.slice(start, end))) end--;
        if (end > start + 1) result.push(run.slice(start, end));
        start = end > start + 1 ? end : start + 1;
      }
    }
  }
  return result.length ? result : words;
};
