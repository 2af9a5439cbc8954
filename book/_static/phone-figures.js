/* Figures legible on a phone. A figure's image is drawn at 110 dpi with text of at
   least 8 pt (helpers.plot.MIN_FONT_PT): 12.2 px in the image. Shrunk to a 390 px
   screen, a 9-inch figure's text would be 5 px. On narrow screens each figure is shown
   at no less than SCALE of its size, so its text is at least 9 px, and the figure
   scrolls sideways within its cell (book/_static/bilingual.css);
   tests/browser/test_browser_site.py measures it at 390 px. */
(function () {
  "use strict";
  const SCALE = 0.75;
  const phone = window.matchMedia("(max-width: 575.98px)");
  function fit(img) {
    if (!img.naturalWidth) return;
    const least = Math.ceil(img.naturalWidth * SCALE);
    const room = img.parentElement ? img.parentElement.clientWidth : least;
    if (phone.matches && least > room) {
      img.style.width = least + "px";
      img.style.maxWidth = "none";
    } else {
      img.style.width = "";
      img.style.maxWidth = "";
    }
  }
  function fitAll() {
    document.querySelectorAll("article .cell_output img, article figure img")
      .forEach(function (img) {
        if (img.complete) fit(img); else img.addEventListener("load", function () { fit(img); });
      });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fitAll);
  } else {
    fitAll();
  }
  phone.addEventListener("change", fitAll);
})();
