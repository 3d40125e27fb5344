// A throwaway certificate for the fake API server: the real one only speaks TLS, and @kubernetes/client-node
// refuses plain HTTP unless TLS verification is switched off, which is not a path worth testing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface ServingCertificate {
  readonly key: string;
  /** Self-signed: also the CA a client trusts. */
  readonly cert: string;
}

let generated: Promise<ServingCertificate> | undefined;

/** One certificate for 127.0.0.1 per test process (openssl, from Debian's openssl package). */
export function servingCertificate(): Promise<ServingCertificate> {
  generated ??= generateCertificate();
  return generated;
}

/** A new self-signed certificate for 127.0.0.1. */
export async function generateCertificate(): Promise<ServingCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'bulkhead-fake-apiserver-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=fake-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
