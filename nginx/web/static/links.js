// "Your links": newest first, a page at a time with the API's keyset cursor, a text
// filter and a tag filter (typed, or a link's tag clicked). Each entry opens the link's
// details.

import { listLinks } from "./api.js";
import { plural } from "./chart.js";
import { clearProblems, showProblem } from "./problems.js";
import { readable } from "./time.js";

const PAGE_SIZE = 10;

export class LinkList {
  // session: {key(), unauthorized(error)}; onOpen(link): show one link's details.
  constructor(session, onOpen) {
    this.session = session;
    this.onOpen = onOpen;
    this.section = document.getElementById("links-section");
    this.form = document.getElementById("links-search");
    this.list = document.getElementById("links-list");
    this.empty = document.getElementById("links-empty");
    this.more = document.getElementById("links-more");
    this.cursor = null;
    this.query = "";
    this.tag = "";
    this.lastError = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.query = this.form.elements.q.value.trim();
      this.filterByTag(this.form.elements.tag.value.trim());
    });
    document.getElementById("links-filter-clear").addEventListener("click", () => {
      this.filterByTag("");
      this.form.elements.tag.focus();
    });
    this.more.addEventListener("click", () => this.loadPage({ focusNew: true }));
  }

  // The API normalises the tag (and says what is wrong with it, beside the field).
  filterByTag(tag) {
    this.tag = tag;
    this.form.elements.tag.value = tag;
    document.getElementById("links-filter-tag").textContent = tag;
    document.getElementById("links-filter").hidden = !tag;
    return this.reload();
  }

  async reload() {
    this.cursor = null;
    this.list.replaceChildren();
    return this.loadPage();
  }

  // True when the page loaded; false after an error (shown in the section).
  async loadPage({ focusNew = false } = {}) {
    clearProblems(this.form);
    let page;
    try {
      page = await listLinks(this.session.key(), {
        cursor: this.cursor,
        q: this.query,
        tag: this.tag,
        limit: PAGE_SIZE,
      });
    } catch (error) {
      this.lastError = error;
      if (!this.session.unauthorized(error)) showProblem(this.form, error);
      return false;
    }
    const firstNew = this.list.children.length;
    for (const link of page.items) this.list.append(this.entry(link));
    this.cursor = page.next_cursor;
    this.more.hidden = !this.cursor;
    this.empty.hidden = this.list.children.length > 0;
    this.empty.textContent = this.query || this.tag ? "No link matches." : "No links yet.";
    // After "Show older links" (which may now be hidden), focus moves to the first entry
    // it added rather than getting lost.
    if (focusNew) this.list.children[firstNew]?.querySelector("button")?.focus();
    return true;
  }

  entry(link) {
    const item = document.createElement("li");
    item.dataset.code = link.code;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link-open";
    open.textContent = link.code;
    open.setAttribute("aria-label", `Details of ${link.code}`);
    open.addEventListener("click", () => this.onOpen(link));
    const target = document.createElement("span");
    target.className = "target";
    target.textContent = link.url;
    const about = document.createElement("span");
    about.className = "help";
    const facts = [`created ${readable(link.created_at)}`, plural(link.visits, "visit")];
    if (link.expires_at) facts.push(`expires ${readable(link.expires_at)}`);
    if (link.max_visits) facts.push(`at most ${plural(link.max_visits, "visit")}`);
    about.textContent = facts.join(" · ");
    item.append(open, target, about);
    if (link.tags?.length) item.append(this.tagButtons(link.tags));
    return item;
  }

  // Each tag a button that filters the list by it.
  tagButtons(tags) {
    const box = document.createElement("span");
    box.className = "tags";
    for (const tag of tags) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "tag";
      button.textContent = tag;
      button.setAttribute("aria-label", `Show links tagged ${tag}`);
      button.addEventListener("click", () => this.filterByTag(tag));
      box.append(button);
    }
    return box;
  }

  replace(link) {
    const old = this.list.querySelector(`li[data-code="${CSS.escape(link.code)}"]`);
    if (old) old.replaceWith(this.entry(link));
  }

  remove(code) {
    this.list.querySelector(`li[data-code="${CSS.escape(code)}"]`)?.remove();
    this.empty.hidden = this.list.children.length > 0;
  }
}
