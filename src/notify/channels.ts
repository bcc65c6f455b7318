// The four ways a message reaches a person: Pushover, ntfy, a JSON webhook and mail
// through the local sendmail interface. Each attempt is bounded in time and ends in
// success or a DeliveryError whose message says what the other side did.

import childProcess = require('node:child_process');
import type { ChannelConfig } from './options.js';
import type { Message } from './digest.js';

export class DeliveryError extends Error {
  readonly code = 'ERR_SCANLOGD_NOTIFY_DELIVERY';
}

export type Sender = (message: Message, timeoutMs: number) => Promise<void>;

/** Characters of a refusal's body quoted in the error. */
const BODY_EXCERPT = 200;

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > BODY_EXCERPT ? `${flat.slice(0, BODY_EXCERPT)}…` : flat;
}

/** One HTTP request; any status but 2xx, a network error or the timeout is a DeliveryError. */
async function post(url: string, init: { headers: Record<string, string>; body: string }, timeoutMs: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new DeliveryError(`no answer within ${timeoutMs / 1000} s`);
    throw new DeliveryError(e.cause?.code ?? e.cause?.message ?? e.message, { cause: err });
  }
  let body: string;
  try {
    body = await response.text();
  } catch (err) {
    throw new DeliveryError(
      `HTTP ${response.status}, then the answer broke off (${(err as Error).name === 'TimeoutError' ? 'timeout' : (err as Error).message})`,
    );
  }
  if (response.status < 200 || response.status > 299) {
    throw new DeliveryError(`HTTP ${response.status}${body === '' ? '' : `: ${excerpt(body)}`}`);
  }
  return body;
}

/** Pushover's form fields; a reply without "status":1 is a refusal even with HTTP 200. */
function pushover(c: Extract<ChannelConfig, { kind: 'pushover' }>): Sender {
  return async (m, timeoutMs) => {
    const form = new URLSearchParams({ token: c.token, user: c.user, title: m.title, message: m.text });
    if (c.priority !== null) form.set('priority', String(c.priority));
    const body = await post(c.url, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }, timeoutMs);
    let status: unknown;
    try {
      status = (JSON.parse(body) as { status?: unknown }).status;
    } catch {
      status = undefined;
    }
    if (status !== 1) throw new DeliveryError(`Pushover did not accept the message: ${excerpt(body)}`);
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
      ];
      let child: childProcess.ChildProcess;
      try {
        child = childProcess.spawn(c.sendmail, ['-t', '-oi'], { stdio: ['pipe', 'ignore', 'pipe'] });
      } catch (err) {
        reject(new DeliveryError(`${c.sendmail}: ${(err as Error).message}`));
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
        reject(new DeliveryError(`${c.sendmail}: ${err.code ?? err.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) reject(new DeliveryError(`${c.sendmail} did not finish within ${timeoutMs / 1000} s`));
        else if (code === 0) resolve();
        else reject(new DeliveryError(`${c.sendmail} exited ${code ?? signal ?? '?'}${stderr === '' ? '' : `: ${excerpt(stderr)}`}`));
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
