/* The transfers' pages: scanning into a receipt, and printing the packing list. A static
   file, as the content security policy allows no inline script. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
    const print = document.querySelector("[data-print]");
    if (print) {
        print.addEventListener("click", function () { window.print(); });
    }

    // The add page: a scanner ends each SKU with Enter; go on to its quantity, then to the
    // next row, instead of posting the form (without this script, Enter asks for more lines).
    const lineForm = document.getElementById("transfer-form");
    if (lineForm) {
        const fields = Array.from(lineForm.querySelectorAll(".line-row input"));
        fields.forEach(function (field, index) {
            field.addEventListener("keydown", function (event) {
                if (event.key === "Enter" && index + 1 < fields.length) {
                    event.preventDefault();
                    fields[index + 1].focus();
                    fields[index + 1].select();
                }
            });
        });
    }

    const scan = document.querySelector("[data-scan-field]");
    if (!scan) {
        return;
    }
    const status = document.getElementById("scan-status");
    const rows = Array.from(document.querySelectorAll("tr[data-sku]"));

    function say(text, warning) {
        status.textContent = text;
        status.classList.toggle("scan-warning", Boolean(warning));
    }

    const reset = document.querySelector("[data-scan-reset]");
    if (reset) {
        reset.addEventListener("click", function () {
            rows.forEach(function (row) {
                const input = row.querySelector("input[type=number]");
                if (input) { input.value = "0"; }
            });
            say("Every line set to 0: scan each unit.", false);
            scan.focus();
        });
    }

    // A scanner types the code and presses Enter: count it here instead of posting the form.
    scan.addEventListener("keydown", function (event) {
        if (event.key !== "Enter") {
            return;
        }
        event.preventDefault();
        const code = scan.value.trim();
        scan.value = "";
        if (!code) {
            return;
        }
        const row = rows.find(function (candidate) {
            return candidate.dataset.sku === code.toUpperCase() ||
                (candidate.dataset.barcode && candidate.dataset.barcode === code);
        });
        if (!row) {
            say(code + " is not in this transfer.", true);
            return;
        }
        const input = row.querySelector("input[type=number]");
        const max = parseInt(input.max, 10);
        const units = parseInt(input.value, 10) || 0;
        rows.forEach(function (other) { other.classList.remove("scanned"); });
        row.classList.add("scanned");
        if (units >= max) {
            say("All " + max + " unit(s) of " + row.dataset.sku + " in transit are counted already.", true);
            return;
        }
        input.value = String(units + 1);
        say(row.dataset.sku + ": " + (units + 1) + " of " + max + ".", false);
    });
});
