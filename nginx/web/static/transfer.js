// Import and export (docs/api.md, "Import" and "Export"): an import sends the chosen file
// and follows its progress; an export downloads through an object URL, because the
// endpoint needs the key in a header, which a plain link cannot send.

import { exportLinks, readImport, startImport } from "./api.js";
import { storedKey } from "./key.js";
import { clearProblems, showProblem } from "./problems.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // After the click has handed the Blob to the download.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function exportAs(format) {
  const alert = $("export-error");
  alert.hidden = true;
  try {
    download(await exportLinks(storedKey(), format), `links.${format}`);
  } catch (error) {
    showProblem($("transfer-section"), error, alert);
  }
}

$("export-csv").addEventListener("click", () => exportAs("csv"));
$("export-jsonl").addEventListener("click", () => exportAs("jsonl"));

function showErrors(errors) {
  const list = $("import-errors");
  list.replaceChildren(
    ...errors.map((error) => {
      const item = document.createElement("li");
      item.textContent = `Row ${error.row}: ${error.field} ${error.message}`;
      return item;
    }),
  );
}

function showReport(report) {
  const progress = $("import-progress");
  if (report.dry_run) {
    progress.hidden = true;
    $("import-status").textContent =
      `Dry run: ${report.rows} rows, ${report.valid} valid, ${report.rejected} refused, ` +
      `${report.existing} already imported, ${report.aliases_taken} with an alias in use.`;
  } else {
    progress.hidden = false;
    progress.max = Math.max(report.total, 1);
    progress.value = report.processed;
    $("import-status").textContent =
      `Import ${report.state}: ${report.processed} of ${report.total} rows done; ` +
      `${report.created} links made, ${report.existing} already there, ` +
      `${report.skipped} skipped, ${report.renamed} renamed, ${report.rejected} refused.`;
  }
  showErrors(report.errors);
}

async function follow(id) {
  for (;;) {
    const report = await readImport(storedKey(), id);
    showReport(report);
    if (report.state === "done" || report.state === "failed") return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

$("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("import-form");
  clearProblems(form);
  showErrors([]);
  $("import-status").textContent = "";
  const file = $("import-file").files[0];
  if (!file) {
    showProblem(form, {
      problem: {
        title: "No file",
        detail: "Choose a file to import.",
        errors: [{ field: "body", message: "choose a file" }],
      },
    });
    return;
  }
  try {
    const report = await startImport(storedKey(), file, {
      dryRun: $("import-dry-run").checked,
      onConflict: $("import-conflict").value,
    });
    showReport(report);
    if (!report.dry_run) await follow(report.id);
  } catch (error) {
    showProblem(form, error);
    if (Array.isArray(error.problem?.errors) && error.problem.errors[0]?.row) {
      showErrors(error.problem.errors);
    }
  }
});
