/*
 * Render the math that pymdownx.arithmatex (generic mode) leaves in the page with the locally
 * served KaTeX (docs/assets/vendor/katex, fetched by docs/tools/fetch_vendor.py).
 *
 * arithmatex writes inline math as <span class="arithmatex">\( ... \)</span> and display math as
 * <div class="arithmatex">\[ ... \]</div>. Each element is rendered in place, once.
 *
 * Material for MkDocs exposes `document$`, an observable that emits on the first load and again
 * after every instant navigation; subscribing to it keeps math rendered on pages reached either
 * way. Without material's bundle, fall back to DOMContentLoaded.
 */
(function () {
  "use strict";

  function unwrap(text) {
    var tex = text.trim();
    if (tex.startsWith("\\(") && tex.endsWith("\\)")) return { tex: tex.slice(2, -2), display: false };
    if (tex.startsWith("\\[") && tex.endsWith("\\]")) return { tex: tex.slice(2, -2), display: true };
    if (tex.startsWith("$$") && tex.endsWith("$$")) return { tex: tex.slice(2, -2), display: true };
    if (tex.startsWith("$") && tex.endsWith("$")) return { tex: tex.slice(1, -1), display: false };
    return null;
  }

  function renderMath(root) {
    if (typeof katex === "undefined") {
      console.error("katex-init: KaTeX is not loaded (run docs/tools/fetch_vendor.py)");
      return;
    }
    var elements = (root || document).querySelectorAll(".arithmatex");
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      if (el.getAttribute("data-katex-rendered") === "true") continue;
      var math = unwrap(el.textContent);
      if (math === null) continue;
      katex.render(math.tex, el, {
        displayMode: math.display || el.tagName === "DIV",
        throwOnError: false, // a bad formula shows in red (class katex-error), the page still works
      });
      el.setAttribute("data-katex-rendered", "true");
    }
  }

  if (typeof document$ !== "undefined" && typeof document$.subscribe === "function") {
    document$.subscribe(function (doc) {
      renderMath(doc && doc.body ? doc.body : document.body);
    });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      renderMath(document.body);
    });
  } else {
    renderMath(document.body);
  }
})();
