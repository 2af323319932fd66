// The length as the moderator types, counted as the network counts (graphemes; on
// Mastodon and X a link counts 23; X weighs characters outside Latin and common
// punctuation double). Only a guide: saving checks it on the server, as without script.
(function () {
  const seg = typeof Intl.Segmenter === "function" ? new Intl.Segmenter() : null;
  const light = (cp) => cp <= 4351 || (cp >= 8192 && cp <= 8205) || (cp >= 8208 && cp <= 8223) || (cp >= 8242 && cp <= 8247);
  function count(text, platform) {
    let rest = text, links = 0;
    if (platform !== "bluesky") {
      rest = text.replace(/https?:\/\/\S+/g, () => { links += 1; return ""; });
    }
    const parts = seg ? Array.from(seg.segment(rest), (s) => s.segment) : Array.from(rest);
    const weigh = platform === "x" ? (g) => (light(g.codePointAt(0)) && g.length === 1 ? 1 : 2) : () => 1;
    return parts.reduce((n, g) => n + weigh(g), 0) + links * 23;
  }
  for (const area of document.querySelectorAll("textarea[data-limit]")) {
    const shown = area.closest(".post-block").querySelector(".length");
    const limit = Number(area.dataset.limit);
    area.addEventListener("input", () => {
      const n = count(area.value, area.dataset.platform);
      shown.textContent = n + "/" + limit;
      shown.classList.toggle("over", n > limit);
    });
  }
})();
