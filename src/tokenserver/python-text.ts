// The original tools build emails with Python's str() and write log lines with %r. We keep those texts
// so operators' log searches and the stored emails stay the same.

/** Python str() of a JSON scalar; undefined for values whose Python text we do not reproduce. */
export function pythonStr(value: unknown): string | undefined {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/** Python repr() of a string (quote choice and escapes as CPython does for printable text). */
export function pythonRepr(value: unknown): string {
  if (typeof value !== "string") return pythonStr(value) ?? JSON.stringify(value);
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + quote;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return quote + out + quote;
}
