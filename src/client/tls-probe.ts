// What a port speaks, asked only after a plain connection failed in the way a TLS
// port makes it fail: so that the user is told "pass --tls" instead of "closed".
import tls from 'node:tls';

const TLS_HANDSHAKE_RECORD = 0x16;
const TLS_ALERT_RECORD = 0x15;
const TLS_MAJOR_VERSION = 0x03;

/**
 * Whether the first bytes a server sent are a TLS record (an alert or a
 * handshake): its content type, then major version 3. Neither 0x15 nor 0x16 can
 * start a frame header (digits and spaces) or a raw ack, so one byte of them is enough.
 */
export function startsLikeTls(firstBytes: Buffer): boolean {
  const type = firstBytes[0];
  if (type !== TLS_ALERT_RECORD && type !== TLS_HANDSHAKE_RECORD) return false;
  return firstBytes.length < 2 || firstBytes[1] === TLS_MAJOR_VERSION;
}

/**
 * Whether `host:port` completes a TLS handshake within `timeoutMs`. The
 * certificate is not checked: this only asks what the port speaks, sends no
 * data, and closes at once.
 */
export function speaksTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false });
    const settle = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    socket.once('secureConnect', () => settle(true));
    socket.once('error', () => settle(false));
    socket.once('close', () => settle(false));
  });
}
