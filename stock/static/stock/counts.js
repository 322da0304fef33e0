// The counting page: after each scan the field is empty and focused again, so a scanner (which
// types the code and Enter) can go on without a click.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.querySelector("#count-scan input[name=code]");
  if (field && !document.querySelector("#count-scan .errorlist")) {
    field.value = "";
  }
  if (field) {
    field.focus();
  }
});
