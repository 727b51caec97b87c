/** Characters COPY's text format gives a meaning to: the escape, the column and row separators. */
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value as a column of COPY's text format (`COPY … FROM STDIN`, the default format): its specials escaped. */
export function copyField(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (c) => ESCAPES[c] ?? c) : value;
}
