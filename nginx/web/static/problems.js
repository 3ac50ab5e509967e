// Show an API error where it belongs: each field the problem names gets the problem's
// title and the field's message beside it (and aria-invalid, so screen readers say so);
// the form as a whole gets the title and detail in its alert.

export function clearProblems(scope) {
  for (const slot of scope.querySelectorAll(".field-error, .form-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const input of scope.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

function show(slot, text) {
  slot.textContent = text;
  slot.hidden = false;
  const closed = slot.closest("details");
  if (closed) closed.open = true;
}

// scope: the form or section; error: an ApiProblem (or any Error); alert: where the
// title/detail go (defaults to the scope's .form-error). Returns the fields it marked.
export function showProblem(scope, error, alert = scope.querySelector(".form-error")) {
  const problem = error.problem ?? { title: "Error", detail: String(error.message || error) };
  const marked = [];
  for (const entry of Array.isArray(problem.errors) ? problem.errors : []) {
    const slot = scope.querySelector(`.field-error[data-field="${CSS.escape(entry.field)}"]`);
    if (!slot) continue;
    show(slot, `${problem.title}: ${entry.message}`);
    // Each field's error slot is named after its input: <input id=X> <p id=X-error>.
    const input = document.getElementById(slot.id.replace(/-error$/, ""));
    if (input) {
      input.setAttribute("aria-invalid", "true");
      marked.push(input);
    }
  }
  if (alert) show(alert, `${problem.title}: ${problem.detail ?? ""}`.trim());
  // Keyboard users land on the first field to fix.
  if (marked.length) marked[0].focus();
  return marked;
}
