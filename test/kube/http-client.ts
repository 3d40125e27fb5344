// Plain HTTPS requests to the fake API server, to test it the way any client would see it.
import { get } from 'node:https';
import type { FakeApiServer } from './fake-apiserver.js';

export interface JsonAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> & { metadata?: Record<string, unknown>; items?: Record<string, unknown>[] };
}

export function getJson(server: FakeApiServer, path: string): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    get(`${server.url}${path}`, { ca: server.caCertificate, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as JsonAnswer['body'] }));
      response.on('error', reject);
    }).on('error', reject);
  });
}

export interface WatchEventRecord {
  readonly type: string;
  readonly object: Record<string, unknown> & { metadata: Record<string, unknown> };
}

export interface OpenWatch {
  readonly events: WatchEventRecord[];
  /** Resolves when the server ends the stream ('end') or the connection breaks ('error'). */
  readonly ended: Promise<'end' | 'error'>;
  close(): void;
}

export function openWatch(server: FakeApiServer, path: string): OpenWatch {
  const events: WatchEventRecord[] = [];
  let buffered = '';
  let close = () => undefined as void;
  const ended = new Promise<'end' | 'error'>((resolve) => {
    const request = get(`${server.url}${path}`, { ca: server.caCertificate, agent: false }, (response) => {
      response.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line !== '') events.push(JSON.parse(line) as WatchEventRecord);
      });
      response.on('end', () => resolve('end'));
      response.on('error', () => resolve('error'));
      response.on('aborted', () => resolve('error'));
    });
    request.on('error', () => resolve('error'));
    close = () => request.destroy();
  });
  return { events, ended, close: () => close() };
}
