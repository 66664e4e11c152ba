// File names as clients send them are untrusted: they end up in Content-Disposition
// headers, emails and consoles.

/** Image types a browser may show inline; every other type (SVG, HTML, …) is only ever downloaded. */
export const INLINE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

/** The last path segment, without control and quoting characters, at most 200 characters; "file" when nothing is left. */
export function sanitizeFilename(name: string | null | undefined): string {
  const base = (name ?? '').normalize('NFC').split(/[/\\]/).pop() ?? '';
  const clean = base
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
    .replace(/[\u0000-\u001f\u007f-\u009f"<>|:*?]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '');
  return [...clean].slice(0, 200).join('') || 'file';
}

/** A Content-Disposition header value for `filename` (RFC 6266: an ASCII fallback and the UTF-8 name). */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/[\\%]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
