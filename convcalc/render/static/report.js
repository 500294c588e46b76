
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("convcalc-data").textContent);
  var drawn = 0;
  data.figures.forEach(function (f) {
    var el = document.getElementById(f.id);
    if (!el) { return; }
    Plotly.newPlot(el, f.data, f.layout, data.config).then(function () {
      drawn += 1;
      if (drawn === data.figures.length) { document.body.setAttribute("data-charts", "drawn"); }
    });
  });
  if (!data.figures.length) { document.body.setAttribute("data-charts", "drawn"); }
  function key(row, col) {
    var cell = row.cells[col];
    return cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var numeric = th.getAttribute("data-type") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a, col), y = key(b, col), d;
          if (numeric) {
            d = (x === "" ? -Infinity : Number(x)) - (y === "" ? -Infinity : Number(y));
            if (isNaN(d)) { d = 0; }
          } else { d = x.localeCompare(y); }
          return ascending ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  function all(open) {
    document.querySelectorAll(".graph details").forEach(function (d) { d.open = open; });
  }
  var ex = document.getElementById("expand-all"), co = document.getElementById("collapse-all");
  if (ex) { ex.addEventListener("click", function () { all(true); }); }
  if (co) { co.addEventListener("click", function () { all(false); }); }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll(".graph details").forEach(function (d) { d.open = true; });
  });
})();
