// One link: its stats (per-day chart, humans vs bots, visitors, top referrers and
// countries), editing its
// target or expiry, its history of changes, and deleting it after a confirmation dialog.

import { deleteLink, linkHistory, linkStats, updateLink } from "./api.js";
import { drawDays, plural } from "./chart.js";
import { clearProblems, showProblem } from "./problems.js";
import { sameTags, tagsFromInput } from "./tags.js";
import { isoFromLocalInput, localInputFromIso, readable } from "./time.js";

const $ = (id) => document.getElementById(id);

// "DE" -> "Germany" in the browser's language; "" is a click whose country is unknown (no
// country database on the server, or an address it does not know: docs/clicks.md).
const regionNames = new Intl.DisplayNames(undefined, { type: "region" });
function countryName(code) {
  if (!code) return "unknown";
  try {
    return `${regionNames.of(code)} (${code})`;
  } catch {
    return code;
  }
}

const EVENT_WORDS = { "link.created": "created", "link.updated": "changed", "link.deleted": "deleted" };

// "url: https://a → https://b; max_visits: none → 5" (a create lists the values it set).
function describeChanges(event) {
  const shown = (value) => {
    if (value === null || (Array.isArray(value) && !value.length)) return "none";
    return Array.isArray(value) ? value.join(", ") : String(value);
  };
  return Object.entries(event.changes)
    .map(([field, { old, new: now }]) =>
      event.event === "link.created" ? `${field}: ${shown(now)}` : `${field}: ${shown(old)} → ${shown(now)}`,
    )
    .join("; ");
}

export class LinkDetails {
  // session: {key(), unauthorized(error)}; list: the LinkList to keep in step.
  constructor(session, list) {
    this.session = session;
    this.list = list;
    this.section = $("details");
    this.form = $("edit-form");
    this.dialog = $("delete-dialog");
    this.link = null;
    $("stats-refresh").addEventListener("click", () => this.loadStats());
    $("details-close").addEventListener("click", () => this.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("delete-button").addEventListener("click", () => {
      $("delete-dialog-code").textContent = this.link.code;
      // Some engines keep returnValue across a cancel (Escape): after an earlier
      // "delete", that would delete again. Chromium 156 resets it; we do not rely on it.
      this.dialog.returnValue = "";
      this.dialog.showModal();
    });
    $("delete-cancel").addEventListener("click", () => this.dialog.close("cancel"));
    $("delete-confirm").addEventListener("click", () => this.dialog.close("delete"));
    this.dialog.addEventListener("close", () => {
      if (this.dialog.returnValue === "delete") this.remove();
      else $("delete-button").focus();
    });
  }

  open(link) {
    this.show(link);
    clearProblems(this.section);
    $("edit-status").textContent = "";
    this.section.hidden = false;
    $("details-heading").focus();
    return Promise.all([this.loadStats(), this.loadHistory()]);
  }

  show(link) {
    this.link = link;
    $("details-code").textContent = link.code;
    const shortUrl = $("details-short-url");
    shortUrl.href = link.short_url;
    shortUrl.textContent = link.short_url;
    $("details-target").textContent = link.url;
    const limits = [`created ${readable(link.created_at)}`];
    limits.push(link.expires_at ? `expires ${readable(link.expires_at)}` : "never expires");
    if (link.max_visits) limits.push(`${link.visits} of ${plural(link.max_visits, "visit")} used`);
    if (link.protected) limits.push("protected by a password");
    $("details-limits").textContent = limits.join(" · ");
    const form = this.form.elements;
    form.url.value = link.url;
    form.expires_at.value = localInputFromIso(link.expires_at);
    form.tags.value = (link.tags ?? []).join(", ");
    form.password.value = "";
    form.unprotect.checked = false;
    $("edit-unprotect-field").hidden = !link.protected;
    form.allow_indexing.checked = link.allow_indexing;
  }

  close() {
    this.section.hidden = true;
    this.link = null;
    $("links-heading").focus();
  }

  async loadStats() {
    const code = this.link.code;
    $("stats-error").hidden = true;
    let stats;
    try {
      stats = await linkStats(this.session.key(), code);
    } catch (error) {
      if (!this.session.unauthorized(error)) showProblem(this.section, error, $("stats-error"));
      return;
    }
    if (this.link?.code !== code) return; // Another link was opened meanwhile.
    const all = stats.all_time;
    if (all.clicks !== this.link.visits) {
      // The list was loaded before these clicks were ingested: bring its entry up to date.
      this.link = { ...this.link, visits: all.clicks };
      this.list.replace(this.link);
    }
    $("stats-summary").textContent =
      `${plural(all.clicks, "click")} in all: ${plural(all.humans, "human")}, ` +
      `${plural(all.bots, "bot")}. Last 30 days: ${plural(stats.in_range.clicks, "click")}, ` +
      `${plural(stats.in_range.visitors, "visitor")} (counted per day).`;
    drawDays($("stats-chart"), stats.days);
    const rows = stats.days.filter((day) => day.clicks > 0).reverse();
    $("stats-days").tBodies[0].replaceChildren(
      ...rows.map((day) => {
        const row = document.createElement("tr");
        const countries = day.top_countries.map((c) => `${countryName(c.country)} ${c.clicks}`);
        for (const value of [day.day, day.clicks, day.bots, day.visitors, countries.join(", ")]) {
          const cell = document.createElement("td");
          cell.textContent = String(value);
          row.append(cell);
        }
        return row;
      }),
    );
    const referrers = stats.top_referrers.map((referrer) => {
      const item = document.createElement("li");
      item.textContent = `${referrer.host || "none (typed, bookmarked or an app)"}: ${plural(referrer.clicks, "click")}`;
      return item;
    });
    if (!referrers.length) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = "No referrers yet.";
      referrers.push(none);
    }
    $("stats-referrers").replaceChildren(...referrers);
    const countries = stats.top_countries.map((country) => {
      const item = document.createElement("li");
      item.textContent = `${countryName(country.country)}: ${plural(country.clicks, "click")}`;
      return item;
    });
    if (!countries.length) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = "No countries yet.";
      countries.push(none);
    }
    $("stats-countries").replaceChildren(...countries);
  }

  async loadHistory() {
    const code = this.link.code;
    $("history-error").hidden = true;
    let page;
    try {
      page = await linkHistory(this.session.key(), code);
    } catch (error) {
      if (!this.session.unauthorized(error)) showProblem(this.section, error, $("history-error"));
      return;
    }
    if (!this.link || this.link.code !== code) return; // another link opened meanwhile
    // textContent only: a URL in the history is the caller's text, never markup.
    $("history").replaceChildren(
      ...page.items.map((event) => {
        const item = document.createElement("li");
        const who = event.key_prefix ? `key ${event.key_prefix}` : "the system";
        item.textContent = `${readable(event.occurred_at)}: ${EVENT_WORDS[event.event]} by ${who}`;
        const changes = document.createElement("span");
        changes.className = "changes";
        changes.textContent = describeChanges(event);
        item.append(changes);
        return item;
      }),
    );
  }

  async save() {
    clearProblems(this.form);
    $("edit-status").textContent = "";
    const url = this.form.elements.url.value.trim();
    const expires = this.form.elements.expires_at.value;
    const changes = {};
    if (url !== this.link.url) changes.url = url;
    if (expires !== localInputFromIso(this.link.expires_at)) {
      changes.expires_at = isoFromLocalInput(expires);
    }
    const form = this.form.elements;
    const tags = tagsFromInput(form.tags.value);
    if (!sameTags(tags, this.link.tags ?? [])) changes.tags = tags.length ? tags : null;
    if (form.password.value) changes.password = form.password.value;
    else if (form.unprotect.checked) changes.password = null;
    if (form.allow_indexing.checked !== this.link.allow_indexing) {
      changes.allow_indexing = form.allow_indexing.checked;
    }
    if (!Object.keys(changes).length) {
      $("edit-status").textContent = "Nothing changed.";
      return;
    }
    try {
      const link = await updateLink(this.session.key(), this.link.code, changes);
      this.show(link);
      this.list.replace(link);
      $("edit-status").textContent = "Saved.";
      await this.loadHistory();
    } catch (error) {
      if (!this.session.unauthorized(error)) showProblem(this.form, error);
    }
  }

  async remove() {
    const code = this.link.code;
    try {
      await deleteLink(this.session.key(), code);
    } catch (error) {
      if (!this.session.unauthorized(error)) {
        showProblem(this.section, error, $("delete-error"));
        $("delete-button").focus();
      }
      return;
    }
    this.list.remove(code);
    $("links-status").textContent = `Deleted ${code}.`;
    this.close();
  }
}

