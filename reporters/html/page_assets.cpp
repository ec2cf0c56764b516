#include "reporters/html/page_assets.hpp"

namespace strain::html {

const std::string_view kStyleSheet = R"css(
:root{--fg:#1d2330;--muted:#5d6675;--line:#dde1e6;--good:#2e7d32;--bad:#c62828;--warn:#a15c00}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:24px 24px 48px}
h1{font-size:22px;margin:0 0 2px}
h2{font-size:18px;margin:34px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:22px 0 6px}
code,.target{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace}
.target{margin:0 0 10px;word-break:break-all;color:#384152}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 18px;margin:8px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
.badge{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600;background:#eef0f3}
.badge.good{background:#e5f3e7;color:var(--good)}
.badge.bad{background:#fbe7e7;color:var(--bad)}
.badge.warn{background:#fdf0dc;color:var(--warn)}
ul.verdicts,ul.notes,ul.errors{padding:0;margin:8px 0;list-style:none}
ul.verdicts li,ul.errors li{margin:3px 0}
ul.notes li{margin:3px 0;padding:4px 8px;background:#fdf6e9;border-left:3px solid var(--warn)}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:10px;margin:6px 0 12px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.card .k,.card .d{color:var(--muted);font-size:12px}
.card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
figure{margin:18px 0;break-inside:avoid}
figcaption{font-weight:600;margin-bottom:4px}
figure.nodata{border:1px dashed var(--line);border-radius:6px;padding:10px 12px}
figure.nodata p,p.nodata{color:var(--muted);margin:4px 0}
p.caption{color:var(--muted);font-size:12.5px;margin:2px 0 0}
svg.chart{display:block;width:100%;height:auto;font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg.chart text{fill:#3b4350}
svg.chart .grid{stroke:#eceef1;fill:none}
svg.chart .frame{stroke:#9aa1ab;fill:none}
svg.chart .yt,svg.chart text.end{text-anchor:end}
svg.chart .xt,svg.chart .xl,svg.chart .yl{text-anchor:middle}
svg.chart .xl,svg.chart .yl{fill:var(--muted)}
.s0{--c:#4e79a7}.s1{--c:#f28e2b}.s2{--c:#e15759}.s3{--c:#76b7b2}.s4{--c:#59a14f}
.s5{--c:#b8a000}.s6{--c:#b07aa1}.s7{--c:#ff9da7}.s8{--c:#9c755f}.s9{--c:#8c8c8c}
svg.chart .line{fill:none;stroke:var(--c);stroke-width:1.6;stroke-linejoin:round}
svg.chart .dash{stroke-dasharray:6 3}
svg.chart .band{fill:var(--c);fill-opacity:.2;stroke:none}
svg.chart .pts circle,svg.chart circle.pt{fill:var(--c);stroke:#fff;stroke-width:1}
svg.chart path.mk{stroke:var(--c);stroke-width:1.2;stroke-dasharray:3 3;fill:none}
svg.chart text.mk{font-size:11.5px}
svg.chart .cursor{stroke:#7a828e;stroke-width:1}
svg.chart .readout{font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted)}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.bad{color:var(--bad)}
td.why{font-size:12px;color:#384152}
.muted{color:var(--muted)}
.verdict{font-size:15px;background:#f5f7fa;border-left:4px solid #4e79a7;padding:8px 12px}
footer{margin-top:36px;color:var(--muted);font-size:12px}
@media (max-width:820px){.cards{grid-template-columns:repeat(3,1fr)}}
@media print{
  body{font-size:10.5pt}
  main{max-width:none;padding:0}
  h2{break-after:avoid}
  figure,tr{break-inside:avoid}
  svg.chart .cursor,svg.chart .readout,footer{display:none}
}
)css";

const std::string_view kHoverScript = R"js(
(function () {
  function value(spec, px) {
    var p = spec.split(' '), lo = +p[1], hi = +p[2], t = (px - +p[3]) / (+p[4] - +p[3]);
    if (p[0] === 'log') return Math.pow(10, Math.log10(lo) + t * (Math.log10(hi) - Math.log10(lo)));
    return lo + t * (hi - lo);
  }
  function show(kind, v) {
    if (kind === 'duration') {
      var s = Math.round(v), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
      if (h) return h + 'h' + String(m).padStart(2, '0') + 'm';
      if (m) return m + 'm' + String(r).padStart(2, '0') + 's';
      return (v < 10 ? v.toFixed(1) : String(s)) + 's';
    }
    if (kind === 'percentile') return (100 * (1 - 1 / Math.max(v, 1))).toPrecision(6).replace(/\.?0+$/, '') + '%';
    if (kind === 'bytes') {
      var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
      while (Math.abs(v) >= 1024 && i < 4) { v /= 1024; i++; }
      return v.toPrecision(3) + ' ' + u[i];
    }
    return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3);
  }
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var plot = svg.getAttribute('data-plot').split(' ').map(Number);
    var xs = svg.getAttribute('data-x'), ys = svg.getAttribute('data-y');
    var cursor = svg.querySelector('.cursor'), text = svg.querySelector('.readout');
    function hide() { cursor.setAttribute('visibility', 'hidden'); text.textContent = ''; }
    svg.addEventListener('mouseleave', hide);
    svg.addEventListener('mousemove', function (e) {
      var pt = svg.createSVGPoint();
      pt.x = e.clientX; pt.y = e.clientY;
      var q = pt.matrixTransform(svg.getScreenCTM().inverse());
      if (q.x < plot[0] || q.x > plot[2] || q.y < plot[1] || q.y > plot[3]) return hide();
      cursor.setAttribute('d', 'M' + q.x + ' ' + plot[1] + 'V' + plot[3]);
      cursor.setAttribute('visibility', 'visible');
      var right = q.x > (plot[0] + plot[2]) / 2;
      text.setAttribute('x', right ? q.x - 6 : q.x + 6);
      text.setAttribute('text-anchor', right ? 'end' : 'start');
      text.textContent = show(xs.split(' ')[5], value(xs, q.x)) + ' · ' + show(ys.split(' ')[5], value(ys, q.y));
    });
  });
})();
)js";

const std::string_view kSelfCheckScript = R"js(
window.addEventListener('load', function () {
  var charts = document.querySelectorAll('svg.chart'), bad = [], flat = 0;
  for (var i = 0; i < charts.length; i++) {
    var svg = charts[i], name = svg.parentNode.id, g = svg.querySelector('g.data');
    var marks = g ? g.querySelectorAll('path,circle') : [];
    if (!marks.length) { bad.push(name + ': nothing drawn'); continue; }
    var empty = false;
    g.querySelectorAll('path').forEach(function (p) { var d = p.getAttribute('d'); if (!d || d.length < 4) empty = true; });
    if (empty) { bad.push(name + ': an empty path'); continue; }
    var box = g.getBBox(), isFlat = svg.hasAttribute('data-flat');
    if (isFlat) flat++;
    if (!(box.width > 0) || !(box.height > 0 || isFlat))
      bad.push(name + ': box ' + box.width.toFixed(1) + 'x' + box.height.toFixed(1));
  }
  var ms = performance.now();
  var nodata = document.querySelectorAll('figure.nodata').length;
  var summary = (bad.length ? 'FAIL ' : 'ok ') + charts.length + ' charts' +
      (flat ? ', ' + flat + ' flat' : '') + (nodata ? ', ' + nodata + ' without data' : '') +
      (bad.length ? ': ' + bad.join('; ') : '');
  document.body.setAttribute('data-selfcheck', summary);
  document.body.setAttribute('data-render-ms', ms.toFixed(1));
  var main = document.querySelector('main');
  document.body.setAttribute('data-page-px', String(Math.ceil(main.getBoundingClientRect().bottom + window.scrollY)));
  var out = document.getElementById('selfcheck');
  if (out) out.textContent = 'Page self-check: ' + summary + '; drawn ' + ms.toFixed(0) + ' ms after navigation start.';
});
)js";

}  // namespace strain::html
