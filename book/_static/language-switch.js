/* The language switch (book/_templates/language-switch.html) leads to the same place
   in the other edition: the labelled section or figure the reader is at. The editions
   share their MyST labels (tests/test_parity.py), and each label is an element id on
   both pages; the switch lists this page's labels in data-anchors
   (book/_ext/bilingual.py). */
(function () {
  "use strict";
  function currentAnchor(labels) {
    if (location.hash && labels.has(location.hash.slice(1))) {
      const target = document.getElementById(location.hash.slice(1));
      if (target && target.getBoundingClientRect().top >= -5
          && target.getBoundingClientRect().top < window.innerHeight / 2) {
        return location.hash.slice(1);
      }
    }
    const header = document.querySelector(".bd-header-article");
    const top = (header ? header.getBoundingClientRect().bottom : 0) + 24;
    let best = null;
    for (const id of labels) {
      const element = document.getElementById(id);
      if (!element) continue;
      const y = element.getBoundingClientRect().top;
      if (y <= top && (best === null || y > best.y)) best = {id: id, y: y};
    }
    return best && best.id;
  }
  document.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-language-switch]");
    if (!link) return;
    const labels = new Set((link.dataset.anchors || "").split(" ").filter(Boolean));
    const anchor = currentAnchor(labels);
    if (anchor) link.href = link.href.split("#")[0] + "#" + anchor;
  });
})();
