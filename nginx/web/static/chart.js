// The per-day clicks as an SVG bar chart, built with DOM calls only (no innerHTML: the
// page's CSP enforces Trusted Types, so string-to-markup sinks would be refused).

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 100;

function element(name, attributes) {
  const node = document.createElementNS(SVG, name);
  for (const [attribute, value] of Object.entries(attributes)) {
    node.setAttribute(attribute, String(value));
  }
  return node;
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// days: [{day, clicks, bots}], oldest first (the stats endpoint zero-fills the range).
export function drawDays(svg, days) {
  svg.replaceChildren();
  const peak = Math.max(1, ...days.map((day) => day.clicks));
  const slot = WIDTH / Math.max(1, days.length);
  days.forEach((day, index) => {
    const bar = element("g", {});
    const title = element("title", {});
    title.textContent = `${day.day}: ${plural(day.clicks, "click")}, ${plural(day.bots, "bot")}`;
    bar.append(title);
    const botsHeight = (day.bots / peak) * HEIGHT;
    const humansHeight = ((day.clicks - day.bots) / peak) * HEIGHT;
    const x = index * slot + slot * 0.1;
    const width = slot * 0.8;
    bar.append(
      element("rect", { class: "humans", x, width, y: HEIGHT - botsHeight - humansHeight, height: humansHeight }),
      element("rect", { class: "bots", x, width, y: HEIGHT - botsHeight, height: botsHeight }),
    );
    svg.append(bar);
  });
  svg.append(element("line", { class: "axis", x1: 0, x2: WIDTH, y1: HEIGHT, y2: HEIGHT }));
}
