// The four ways a message reaches a person: Pushover, ntfy, a JSON webhook and mail
// through the local sendmail interface. Each attempt is bounded in time and ends in
// success or a DeliveryError that says what the other side did, whether trying again
// can help, and never more of a URL than its scheme, host and port (a webhook or topic
// URL is often the secret itself).

import childProcess = require('node:child_process');
import { printable } from '../shared/syslogframe.js';
import { VERSION } from '../shared/version.js';
import type { ChannelConfig } from './options.js';
import type { Message } from './digest.js';

export const USER_AGENT = `scanlogd-notify/${VERSION}`;

export class DeliveryError extends Error {
  readonly code = 'ERR_SCANLOGD_NOTIFY_DELIVERY';

  /**
   * `summary` is in the notifier's own words (it may reach a person's message);
   * `detail`, what the other side said, goes to the operator's log only.
   * `permanent`: the other side refused this message, and sending it again cannot help.
   */
  constructor(
    readonly summary: string,
    detail: string | null = null,
    readonly permanent = false,
    /** How long the other side asked to wait before the next attempt (HTTP 429), or null. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(detail === null || detail === '' ? summary : `${summary}: ${detail}`);
  }
}

export type Sender = (message: Message, timeoutMs: number) => Promise<void>;

/** Characters of a refusal's body quoted in the error. */
const BODY_EXCERPT = 200;
/** The longest wait a Retry-After may ask for; a longer one is cut to it. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Pushover refuses longer titles and messages (its API documents both limits, in characters). */
export const PUSHOVER_MAX_TITLE = 250;
export const PUSHOVER_MAX_MESSAGE = 1024;

/** The parts of a URL that may be secret, longest first: what error text must not show. */
function secretParts(url: URL): string[] {
  const parts = [url.href, `${url.pathname}${url.search}`, url.pathname, url.search, url.username, url.password];
  for (const segment of url.pathname.split('/')) parts.push(segment, decodeURIComponentSafe(segment));
  for (const value of url.searchParams.values()) parts.push(value);
  // Short parts ("1", "api") are no secret, and removing them would garble the text.
  return [...new Set(parts.filter((p) => p.length >= 6 && p !== url.host))].sort((a, b) => b.length - a.length);
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `text` made printable and short, with every secret part of `url` replaced by "...". */
export function safeText(text: string, url: URL | null, max = BODY_EXCERPT): string {
  let flat = text;
  if (url !== null) for (const part of secretParts(url)) flat = flat.split(part).join('...');
  flat = printable(flat.replace(/\s+/g, ' ').trim());
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

/** Scheme, host and port: all of a URL that messages about it show. */
export function origin(url: string): string {
  return new URL(url).origin;
}

/**
 * Retry-After in milliseconds from `nowMs`: delay-seconds, or an HTTP date (the
 * IMF-fixdate form RFC 9110 has senders write); at most MAX_RETRY_AFTER_MS. Null when
 * absent or unreadable.
 */
export function retryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(text)) ms = Number(text) * 1000;
  else if (/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/.test(text) && !Number.isNaN(Date.parse(text))) {
    ms = Date.parse(text) - nowMs;
  } else return null;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** Network failures by their code, in words. */
const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** What fetch threw, in words that show no URL: its code where it has one. */
function networkError(err: unknown, url: URL, timeoutMs: number): DeliveryError {
  const e = err as Error & { cause?: { code?: unknown; message?: unknown } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new DeliveryError(`no answer within ${timeoutMs / 1000} s`);
  const code = typeof e.cause?.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(e.cause.code) ? e.cause.code : null;
  const causeText = typeof e.cause?.message === 'string' ? e.cause.message : '';
  if (/redirect/i.test(causeText)) {
    return new DeliveryError('the service answered with a redirect; set the URL it points to', null, true);
  }
  if (code !== null) {
    const words = NETWORK_ERRORS[code] ?? (/CERT|TLS|SSL/.test(code) ? 'TLS certificate not accepted' : 'request failed');
    return new DeliveryError(`${words} (${code})`);
  }
  return new DeliveryError('request failed', safeText(causeText || e.message, url));
}

/**
 * One HTTP POST. 2xx returns the body; 429 and 5xx are worth another attempt (429
 * after its Retry-After); any other status is a refusal of this message, not retried.
 */
async function post(url: string, init: { headers: Record<string, string>; body: string }, timeoutMs: number): Promise<string> {
  const target = new URL(url);
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'user-agent': USER_AGENT, ...init.headers },
      body: init.body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw networkError(err, target, timeoutMs);
  }
  try {
    body = await response.text();
  } catch (err) {
    throw new DeliveryError(
      `HTTP ${response.status}, then the answer broke off`,
      (err as Error).name === 'TimeoutError' ? 'timeout' : safeText((err as Error).message, target),
    );
  }
  const status = response.status;
  if (status >= 200 && status <= 299) return body;
  const detail = safeText(body, target);
  if (status === 429) {
    const wait = retryAfter(response.headers.get('retry-after'), Date.now());
    throw new DeliveryError(
      `HTTP 429 (too many requests${wait === null ? '' : `; asked to wait ${Math.ceil(wait / 1000)} s`})`,
      detail,
      false,
      wait,
    );
  }
  throw new DeliveryError(`HTTP ${status}`, detail, status < 500);
}

/** At most `max` characters (code points), cut at a line's end, with "…" when cut. */
export function clipText(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const head = chars.slice(0, max - 2).join('');
  const cut = head.lastIndexOf('\n');
  return `${cut > 0 ? head.slice(0, cut) : head}\n…`;
}

/** Pushover's form fields; a reply without "status":1 is a refusal even with HTTP 200. */
function pushover(c: Extract<ChannelConfig, { kind: 'pushover' }>): Sender {
  return async (m, timeoutMs) => {
    const form = new URLSearchParams({
      token: c.token,
      user: c.user,
      title: clipText(m.title, PUSHOVER_MAX_TITLE),
      message: clipText(m.text, PUSHOVER_MAX_MESSAGE),
    });
    if (c.priority !== null) form.set('priority', String(c.priority));
    const body = await post(c.url, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }, timeoutMs);
    let status: unknown;
    try {
      status = (JSON.parse(body) as { status?: unknown }).status;
    } catch {
      status = undefined;
    }
    if (status !== 1) throw new DeliveryError('Pushover did not accept the message', safeText(body, new URL(c.url)));
  };
}

/**
 * A header value as an RFC 2047 encoded word unless it is plain ASCII: fetch sends
 * header values as Latin-1, mail headers are ASCII, and ntfy decodes encoded words.
 */
function headerText(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function ntfy(c: Extract<ChannelConfig, { kind: 'ntfy' }>): Sender {
  return async (m, timeoutMs) => {
    const headers: Record<string, string> = {
      title: headerText(m.title),
      tags: 'rotating_light',
      'content-type': 'text/plain; charset=utf-8',
    };
    if (c.priority !== null) headers['priority'] = String(c.priority);
    if (c.token !== null) headers['authorization'] = `Bearer ${c.token}`;
    else if (c.user !== null && c.password !== null) {
      headers['authorization'] = `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}`;
    }
    await post(c.url, { headers, body: m.text }, timeoutMs);
  };
}

function webhook(c: Extract<ChannelConfig, { kind: 'webhook' }>): Sender {
  return async (m, timeoutMs) => {
    const body = JSON.stringify({ title: m.title, message: m.text, events: m.events, sources: m.sources });
    await post(c.url, { headers: { 'content-type': 'application/json' }, body }, timeoutMs);
  };
}

/** `sendmail -t -oi`: recipients from the headers, a lone dot is not the end. */
function mail(c: Extract<ChannelConfig, { kind: 'mail' }>): Sender {
  return (m, timeoutMs) =>
    new Promise((resolve, reject) => {
      const headers = [
        `To: ${c.to}`,
        ...(c.from === null ? [] : [`From: ${c.from}`]),
        `Subject: ${headerText(m.title)}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        'Auto-Submitted: auto-generated',
        `X-Mailer: ${USER_AGENT}`,
      ];
      let child: childProcess.ChildProcess;
      try {
        child = childProcess.spawn(c.sendmail, ['-t', '-oi'], { stdio: ['pipe', 'ignore', 'pipe'] });
      } catch (err) {
        reject(new DeliveryError(`${c.sendmail} could not be started`, safeText((err as Error).message, null)));
        return;
      }
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 4096) stderr += d.toString();
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new DeliveryError(`${c.sendmail} could not be started (${err.code ?? 'error'})`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) reject(new DeliveryError(`${c.sendmail} did not finish within ${timeoutMs / 1000} s`));
        else if (code === 0) resolve();
        else reject(new DeliveryError(`${c.sendmail} exited ${code ?? signal ?? '?'}`, safeText(stderr, null)));
      });
      // A sendmail that exits early closes the pipe; its exit status says why.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(`${headers.join('\n')}\n\n${m.text}\n`);
    });
}

export function senderFor(c: ChannelConfig): Sender {
  switch (c.kind) {
    case 'pushover':
      return pushover(c);
    case 'ntfy':
      return ntfy(c);
    case 'webhook':
      return webhook(c);
    case 'mail':
      return mail(c);
  }
}
