// The kernel's client port range, read by the capture process for the UDP reply rule:
// the file's format, this machine's real file, and what is refused.

import test from 'ava';
import fs = require('node:fs');
import { LOCAL_PORT_RANGE_FILE, parseLocalPortRange, readEphemeralPorts } from '../../src/capture/ephemeral.js';
import { StartupError } from '../../src/shared/errors.js';

test('the range as the kernel writes it', (t) => {
  t.deepEqual(parseLocalPortRange('32768\t60999\n'), { first: 32768, last: 60999 });
  t.deepEqual(parseLocalPortRange('1024 65535'), { first: 1024, last: 65535 });
});

test("this machine's range is read and matches the file", (t) => {
  const [first, last] = fs.readFileSync(LOCAL_PORT_RANGE_FILE, 'utf8').trim().split(/\s+/).map(Number);
  t.deepEqual(readEphemeralPorts(), { first, last });
});

for (const text of ['', '32768', '60999 32768', '0 100', '1 65536', 'a b', '32768 60999 1']) {
  test(`refused with a hint to give --ephemeral-ports: ${JSON.stringify(text)}`, (t) => {
    const err = t.throws(() => parseLocalPortRange(text), { instanceOf: StartupError });
    t.is(err?.message, `${LOCAL_PORT_RANGE_FILE}: not a port range: ${JSON.stringify(text.trim())} (give --ephemeral-ports)`);
  });
}

test('a missing file is a start-up error naming it', (t) => {
  const err = t.throws(() => readEphemeralPorts('/nonexistent/ip_local_port_range'), { instanceOf: StartupError });
  t.is(
    err?.message,
    "/nonexistent/ip_local_port_range: ENOENT: no such file or directory, open '/nonexistent/ip_local_port_range' (give --ephemeral-ports)",
  );
});
