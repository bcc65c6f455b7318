// A host's own UDP clients for the client-traffic tests: COUNT queries to SERVER:PORT,
// each from a fresh socket (so a fresh ephemeral port, as a resolver library uses),
// CONCURRENCY at a time, each waiting up to 1 s for its answer. Prints the number of
// answers. Run in the target namespace:
//   node udp-client.js SERVER PORT COUNT CONCURRENCY

import dgram = require('node:dgram');

const [server, portText, countText, concurrencyText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const family = server?.includes(':') ? 'udp6' : 'udp4';

function query(i: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(family);
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), 1000);
    sock.on('message', () => done(true));
    sock.send(Buffer.from(`query ${i}`), port, server);
  });
}

async function main(): Promise<void> {
  let next = 0;
  let answered = 0;
  const worker = async (): Promise<void> => {
    while (next < count) if (await query(next++)) answered++;
  };
  await Promise.all(Array.from({ length: Number(concurrencyText) }, worker));
  process.stdout.write(`${answered}\n`);
}

void main();
