/**
 * Finds secrets where they must never be: every line the apps print and every HTTP answer a spec reads (status line,
 * headers, body). A spec makes one SecretLeakCheck with the secrets it started the apps with, passes
 * `lineCollector(name)` as an AppProcess's `onOutputLine`, sends its requests through `fetch`, records any other
 * text (a failed start's stderr) with `record`, then expects `leaks()` to be empty. Used by test/security.e2e-spec.ts;
 * the TLS spec can record its failures the same way.
 */
export interface RecordedAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** The forms a secret could be written in: as it is, percent-encoded (in a URL), JSON-escaped, base64. */
function formsOf(secret: string): string[] {
  const forms = [
    secret,
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    Buffer.from(secret).toString('base64'),
  ];

  return [...new Set(forms)];
}

export class SecretLeakCheck {
  private readonly texts: { where: string; text: string }[] = [];
  private readonly forms: { secret: string; form: string }[];

  constructor(secrets: readonly string[]) {
    if (secrets.some((secret) => secret.length < 8)) {
      throw new Error('SecretLeakCheck: use secrets of 8 characters or more, so that a match means a leak');
    }
    this.forms = secrets.flatMap((secret) => formsOf(secret).map((form) => ({ secret, form })));
  }

  /** How many texts (lines, answers) were recorded: a check that saw nothing proves nothing. */
  get recorded(): number {
    return this.texts.length;
  }

  /** Keeps one text, named by where it came from. */
  record(where: string, text: string): void {
    this.texts.push({ where, text });
  }

  /** For AppProcessOptions.onOutputLine: keeps every line an app prints, stdout and stderr. */
  lineCollector(app: string): (line: string) => void {
    return (line) => this.record(`${app} log`, line);
  }

  /** fetch() that records the answer's status line, every header and the body. */
  async fetch(url: string, init?: RequestInit): Promise<RecordedAnswer> {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    const headers = [...response.headers.entries()].map(([name, value]) => `${name}: ${value}`).join('\n');
    this.record(`${init?.method ?? 'GET'} ${url}`, `${response.status} ${response.statusText}\n${headers}\n\n${body}`);

    return { status: response.status, headers: response.headers, body };
  }

  /** Each recorded text that holds a secret, as `<where>: <the text>`, with the secret masked; empty when none does. */
  leaks(): string[] {
    return this.texts.flatMap(({ where, text }) => {
      const found = this.forms.filter(({ form }) => text.includes(form));
      if (found.length === 0) {
        return [];
      }
      const masked = found.reduce((shown, { form }) => shown.split(form).join('<SECRET>'), text);

      return [`${where}: ${masked.slice(0, 500)}`];
    });
  }
}
