// Text no field may hold: C0/C1 control characters (tab, line feed and carriage return allowed) and
// unpaired UTF-16 surrogates. PostgreSQL cannot store NUL or lone surrogates (in text or jsonb), and
// no name, reason or message needs them; the API refuses them at the door, domains check their own.

const BAD_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` holds a character no free-text field may hold. */
export const hasBadText = (text: string): boolean => BAD_TEXT.test(text);
