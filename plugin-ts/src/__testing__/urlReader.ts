import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { UrlReaderService, UrlReaderServiceReadTreeResponse } from '@backstage/backend-plugin-api';
import { NotModifiedError } from '@backstage/errors';

/**
 * A UrlReaderService whose trees are local folders, with ETags as a git host gives them
 * (`readTree(url, { etag })` throws NotModifiedError while the URL still serves that ETag).
 * Records every readTree call.
 */
export class FakeTreeReader implements UrlReaderService {
  readonly calls: { url: string; etag?: string; result: 'tree' | 'not-modified' | 'error' }[] = [];
  /** Every folder a tree was extracted into. */
  readonly extractedTo: string[] = [];
  private readonly trees = new Map<string, { dir: string; etag: string } | { error: Error }>();

  /** `url` serves the folder `dir` with `etag` (call again to move it, as a pushed branch). */
  serve(url: string, dir: string, etag: string): void {
    this.trees.set(url, { dir, etag });
  }

  /** `url` fails with an error named `name`, as the real readers' errors are. */
  fail(url: string, name: string, message: string): void {
    this.trees.set(url, { error: Object.assign(new Error(message), { name }) });
  }

  async readTree(url: string, options: { etag?: string } = {}): Promise<UrlReaderServiceReadTreeResponse> {
    const tree = this.trees.get(url);
    if (!tree) {
      this.calls.push({ url, etag: options.etag, result: 'error' });
      throw Object.assign(new Error(`Request failed for ${url}, 404 Not Found`), { name: 'NotFoundError' });
    }
    if ('error' in tree) {
      this.calls.push({ url, etag: options.etag, result: 'error' });
      throw tree.error;
    }
    if (options.etag === tree.etag) {
      this.calls.push({ url, etag: options.etag, result: 'not-modified' });
      throw new NotModifiedError();
    }
    this.calls.push({ url, etag: options.etag, result: 'tree' });
    const extractedTo = this.extractedTo;
    return {
      etag: tree.etag,
      async dir(dirOptions) {
        const target = dirOptions?.targetDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'fake-tree-')));
        await fs.cp(tree.dir, target, { recursive: true });
        extractedTo.push(target);
        return target;
      },
      files: () => Promise.reject(new Error('FakeTreeReader: only dir() is implemented')),
      archive: () => Promise.reject(new Error('FakeTreeReader: only dir() is implemented')),
    };
  }

  readUrl(): never {
    throw new Error('FakeTreeReader: only readTree is implemented');
  }

  search(): never {
    throw new Error('FakeTreeReader: only readTree is implemented');
  }
}
