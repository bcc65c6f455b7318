// A UDP echo server for the client-traffic tests: answers every datagram on each port
// given, from that port, for at most `seconds`, then exits. Run in the scanner namespace:
//   node udp-echo.js SECONDS ADDRESS PORT...

import dgram = require('node:dgram');

const [seconds, address, ...ports] = process.argv.slice(2);
const family = address?.includes(':') ? 'udp6' : 'udp4';
let bound = 0;
for (const port of ports) {
  const sock = dgram.createSocket(family);
  sock.on('message', (msg, from) => sock.send(msg, from.port, from.address));
  sock.bind(Number(port), address, () => {
    if (++bound === ports.length) process.stdout.write('ready\n');
  });
}
setTimeout(() => process.exit(0), Number(seconds) * 1000);
