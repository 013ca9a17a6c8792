/** Escapes text for XML element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** A child value: text (escaped), a number or boolean (as text), nested elements (already XML), or absent. */
export type XmlValue = string | number | boolean | XmlRaw | readonly XmlRaw[] | undefined;

/** Already-rendered XML, as opposed to text that must be escaped. */
export interface XmlRaw {
  readonly xml: string;
}

/** `<tag>value</tag>`; an undefined value renders nothing (AWS leaves out absent members). */
export function el(tag: string, value: XmlValue): XmlRaw {
  if (value === undefined) return { xml: '' };
  let inner: string;
  if (typeof value === 'string') inner = escapeXml(value);
  else if (typeof value === 'number' || typeof value === 'boolean') inner = String(value);
  else if (Array.isArray(value)) inner = (value as readonly XmlRaw[]).map((v) => v.xml).join('');
  else inner = (value as XmlRaw).xml;
  return { xml: `<${tag}>${inner}</${tag}>` };
}

/** Several elements side by side. */
export function els(...parts: XmlRaw[]): XmlRaw {
  return { xml: parts.map((p) => p.xml).join('') };
}

/** A document: the XML declaration and a root element in `namespace`. */
export function documentXml(root: string, namespace: string | undefined, body: XmlRaw): string {
  const ns = namespace ? ` xmlns="${escapeXml(namespace)}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${body.xml}</${root}>\n`;
}

/** ISO 8601 with milliseconds, as AWS writes timestamps. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
