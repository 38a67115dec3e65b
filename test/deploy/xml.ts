/**
 * A small, strict XML reader for checking the JMeter plan without a dependency: elements,
 * attributes, text, comments, CDATA, processing instructions and the five predefined entities plus
 * character references. No DTDs or namespaces (JMeter plans use neither). It throws, naming the
 * offset, on anything that is not well-formed, so "it parses" means "JMeter's parser will read it".
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content directly inside this element (entities decoded). */
  text: string;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isNameStart(ch: string): boolean {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch === '_' || ch === ':' || ch > '\u007f';
}

function isNameChar(ch: string): boolean {
  return isNameStart(ch) || (ch >= '0' && ch <= '9') || ch === '-' || ch === '.';
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

class Reader {
  pos = 0;

  constructor(private readonly src: string) {}

  fail(message: string): never {
    const line = this.src.slice(0, this.pos).split('\n').length;
    throw new SyntaxError(`XML: ${message} at line ${line} (offset ${this.pos})`);
  }

  get done(): boolean {
    return this.pos >= this.src.length;
  }

  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  expect(s: string): void {
    if (!this.startsWith(s)) this.fail(`expected ${JSON.stringify(s)}`);
    this.pos += s.length;
  }

  skipSpace(): void {
    while (isSpace(this.src[this.pos])) this.pos++;
  }

  /** Everything up to `end`, which is consumed; `end` must occur. */
  until(end: string, what: string): string {
    const at = this.src.indexOf(end, this.pos);
    if (at < 0) this.fail(`unterminated ${what}`);
    const body = this.src.slice(this.pos, at);
    this.pos = at + end.length;
    return body;
  }

  name(): string {
    const start = this.pos;
    if (!isNameStart(this.src[this.pos] ?? '')) this.fail('expected a name');
    while (isNameChar(this.src[this.pos] ?? '')) this.pos++;
    return this.src.slice(start, this.pos);
  }

  /** Decodes entity and character references; a bare `&` or `<` is an error. */
  decode(raw: string, startOffset: number): string {
    let out = '';
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i]!;
      if (ch === '<') {
        this.pos = startOffset + i;
        this.fail('"<" not allowed here');
      }
      if (ch !== '&') {
        out += ch;
        continue;
      }
      const semi = raw.indexOf(';', i);
      const ref = semi < 0 ? '' : raw.slice(i + 1, semi);
      let decoded: string | undefined = PREDEFINED[ref];
      if (decoded === undefined && ref.startsWith('#')) {
        const code = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
        if (Number.isInteger(code) && code > 0 && code <= 0x10ffff) decoded = String.fromCodePoint(code);
      }
      if (decoded === undefined) {
        this.pos = startOffset + i;
        this.fail(`bad entity reference "&${ref.slice(0, 20)}"`);
      }
      out += decoded;
      i = semi;
    }
    return out;
  }

  /** Comments and processing instructions, which may appear around and between elements. */
  skipMisc(): boolean {
    if (this.startsWith('<!--')) {
      this.pos += 4;
      const body = this.until('-->', 'comment');
      if (body.includes('--')) this.fail('"--" inside a comment');
      return true;
    }
    if (this.startsWith('<?')) {
      this.pos += 2;
      this.until('?>', 'processing instruction');
      return true;
    }
    return false;
  }

  element(): XmlElement {
    this.expect('<');
    const element: XmlElement = { name: this.name(), attributes: {}, children: [], text: '' };
    for (;;) {
      const hadSpace = isSpace(this.src[this.pos]);
      this.skipSpace();
      if (this.startsWith('/>')) {
        this.pos += 2;
        return element;
      }
      if (this.startsWith('>')) {
        this.pos += 1;
        break;
      }
      if (!hadSpace) this.fail('expected whitespace before an attribute');
      const attr = this.name();
      if (attr in element.attributes) this.fail(`duplicate attribute ${attr}`);
      this.skipSpace();
      this.expect('=');
      this.skipSpace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail('expected a quoted attribute value');
      this.pos++;
      const start = this.pos;
      element.attributes[attr] = this.decode(this.until(quote, 'attribute value'), start);
    }
    for (;;) {
      if (this.done) this.fail(`unclosed <${element.name}>`);
      if (this.startsWith('</')) {
        this.pos += 2;
        const closing = this.name();
        if (closing !== element.name) this.fail(`</${closing}> closes <${element.name}>`);
        this.skipSpace();
        this.expect('>');
        return element;
      }
      if (this.startsWith('<![CDATA[')) {
        this.pos += 9;
        element.text += this.until(']]>', 'CDATA section');
      } else if (this.startsWith('<!')) {
        if (!this.skipMisc()) this.fail('unexpected markup declaration');
      } else if (this.startsWith('<?')) {
        this.skipMisc();
      } else if (this.startsWith('<')) {
        element.children.push(this.element());
      } else {
        const start = this.pos;
        const next = this.src.indexOf('<', this.pos);
        const raw = this.src.slice(this.pos, next < 0 ? this.src.length : next);
        this.pos = start + raw.length;
        if (raw.includes(']]>')) this.fail('"]]>" in text');
        element.text += this.decode(raw, start);
      }
    }
  }
}

/** Parses a whole document and returns its root element. */
export function parseXml(source: string): XmlElement {
  const reader = new Reader(source.startsWith('\ufeff') ? source.slice(1) : source);
  reader.skipSpace();
  while (reader.skipMisc()) reader.skipSpace();
  if (reader.startsWith('<!DOCTYPE')) reader.fail('DOCTYPE is not supported');
  const root = reader.element();
  reader.skipSpace();
  while (reader.skipMisc()) reader.skipSpace();
  if (!reader.done) reader.fail('content after the root element');
  return root;
}

/** Every element of the tree, depth first, the root included. */
export function* walk(element: XmlElement): Generator<XmlElement> {
  yield element;
  for (const child of element.children) yield* walk(child);
}
