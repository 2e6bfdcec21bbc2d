// A small, strict reader for the machine-made XML of AWS's Query APIs (`<AssumeRoleResponse>`,
// `<ErrorResponse>`): elements, attributes (skipped), text, CDATA, comments, processing instructions
// and the five predefined entities plus character references. No DTD (a `<!DOCTYPE` is refused, so
// no entity expansion), no namespaces beyond dropping a prefix. Anything malformed: `undefined`.

/** An element: its local name (prefix dropped), child elements and own text, entities decoded. */
export interface XmlElement {
  readonly name: string
  readonly children: XmlElement[]
  text: string
}

const MAX_DEPTH = 32
const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Decodes entity and character references; `undefined` for an unknown or malformed one. */
export function decodeXmlText(raw: string): string | undefined {
  let failed = false
  const decoded = raw.replace(/&([^;&\s]{0,10});?/g, (match, body: string) => {
    if (!match.endsWith(';')) {
      failed = true
      return ''
    }
    const predefined = PREDEFINED[body]
    if (predefined !== undefined) return predefined
    const hex = /^#x([0-9A-Fa-f]{1,6})$/.exec(body)
    const dec = /^#([0-9]{1,7})$/.exec(body)
    const code = hex ? Number.parseInt(hex[1]!, 16) : dec ? Number.parseInt(dec[1]!, 10) : undefined
    if (code === undefined || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || code === 0) {
      failed = true
      return ''
    }
    return String.fromCodePoint(code)
  })
  return failed ? undefined : decoded
}

/** Parses one document; `undefined` unless it is well-formed with exactly one root element. */
export function parseXml(source: string): XmlElement | undefined {
  let at = source.charCodeAt(0) === 0xfeff ? 1 : 0
  const stack: XmlElement[] = []
  let root: XmlElement | undefined
  while (at < source.length) {
    const lt = source.indexOf('<', at)
    const text = source.slice(at, lt < 0 ? source.length : lt)
    const current = stack[stack.length - 1]
    if (current) {
      const decoded = decodeXmlText(text)
      if (decoded === undefined) return undefined
      current.text += decoded
    } else if (text.trim() !== '') return undefined
    if (lt < 0) break
    if (source.startsWith('<?', lt)) {
      const end = source.indexOf('?>', lt + 2)
      if (end < 0) return undefined
      at = end + 2
    } else if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt + 4)
      if (end < 0) return undefined
      at = end + 3
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt + 9)
      if (end < 0 || !current) return undefined
      current.text += source.slice(lt + 9, end)
      at = end + 3
    } else if (source.startsWith('<!', lt)) {
      return undefined // DOCTYPE and declarations: never in an STS answer
    } else if (source.startsWith('</', lt)) {
      const name = NAME.exec(source.slice(lt + 2))?.[0]
      if (name === undefined) return undefined
      const end = source.indexOf('>', lt + 2 + name.length)
      if (end < 0 || source.slice(lt + 2 + name.length, end).trim() !== '') return undefined
      const open = stack.pop()
      if (!open || open.name !== localName(name)) return undefined
      at = end + 1
    } else {
      const tag = readStartTag(source, lt)
      if (!tag) return undefined
      const element: XmlElement = { name: localName(tag.name), children: [], text: '' }
      if (current) current.children.push(element)
      else if (root) return undefined
      else root = element
      if (!tag.selfClosing) {
        if (stack.length >= MAX_DEPTH) return undefined
        stack.push(element)
      }
      at = tag.end
    }
  }
  return stack.length === 0 ? root : undefined
}

function localName(name: string): string {
  const colon = name.indexOf(':')
  return colon < 0 ? name : name.slice(colon + 1)
}

/** `<name attr="v" …>` or `<name …/>` at `lt`: its name, whether it closes itself and where it ends. */
function readStartTag(
  source: string,
  lt: number,
): { name: string; selfClosing: boolean; end: number } | undefined {
  const name = NAME.exec(source.slice(lt + 1, lt + 1 + 256))?.[0]
  if (name === undefined) return undefined
  let at = lt + 1 + name.length
  for (;;) {
    const spaced = /^\s*/.exec(source.slice(at, at + 256))![0].length
    at += spaced
    if (source.startsWith('/>', at)) return { name, selfClosing: true, end: at + 2 }
    if (source.startsWith('>', at)) return { name, selfClosing: false, end: at + 1 }
    if (spaced === 0) return undefined
    const attribute = /^([A-Za-z_][\w.:-]*)\s*=\s*(["'])/.exec(source.slice(at, at + 512))
    if (!attribute) return undefined
    const close = source.indexOf(attribute[2]!, at + attribute[0].length)
    if (close < 0 || source.slice(at + attribute[0].length, close).includes('<')) return undefined
    at = close + 1
  }
}

/** The child element reached by following `path` from `element` (first match at each step). */
export function xmlChild(element: XmlElement | undefined, path: readonly string[]): XmlElement | undefined {
  let current = element
  for (const name of path) {
    current = current?.children.find((child) => child.name === name)
    if (!current) return undefined
  }
  return current
}

/** The trimmed text of the child at `path`; `undefined` if it is missing or empty. */
export function xmlText(element: XmlElement | undefined, path: readonly string[]): string | undefined {
  const text = xmlChild(element, path)?.text.trim()
  return text === undefined || text === '' ? undefined : text
}
