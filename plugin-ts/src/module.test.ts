import { FIXTURES, recordingLogger, removeDir, tempDir, TINY_SET } from './__testing__/helpers';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { scaffolderActionsExtensionPoint, TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { FakeTreeReader } from './__testing__/urlReader';
import svcgenModule from './index';

describe('svcgenModule', () => {
  it('adds svcgen:render and svcgen:update to the scaffolder, with the configured template folders', async () => {
    const added: TemplateAction<any, any>[] = [];
    const backend = await startTestBackend({
      extensionPoints: [
        [scaffolderActionsExtensionPoint, { addActions: (...actions: TemplateAction<any, any>[]) => added.push(...actions) }],
      ],
      features: [svcgenModule, mockServices.rootConfig.factory({ data: { svcgen: { templateDirs: [FIXTURES] } } })],
    });
    const workspacePath = await tempDir();
    try {
      assert.deepEqual(
        added.map(a => a.id),
        ['svcgen:render', 'svcgen:update'],
      );
      // The fixture set "tiny" is only found through svcgen.templateDirs.
      const outputs = new Map<string, unknown>();
      const ctx = createMockActionContext({
        workspacePath,
        logger: recordingLogger(),
        input: { templateSet: 'tiny', values: { serviceName: 'abc' } },
      });
      ctx.output = (name: string, value: unknown) => void outputs.set(name, value);
      await added[0].handler(ctx);
      assert.equal(outputs.get('templateSet'), 'tiny');
    } finally {
      await backend.stop();
      await removeDir(workspacePath);
    }
  });

  it("reads template sets named by URL through the backend's URL reader, and removes them on shutdown", async () => {
    const url = 'https://github.com/acme/svcgen-templates/tree/v1.0.0/tiny';
    const reader = new FakeTreeReader();
    reader.serve(url, TINY_SET, 'c0ffee');
    const added: TemplateAction<any, any>[] = [];
    const backend = await startTestBackend({
      extensionPoints: [
        [scaffolderActionsExtensionPoint, { addActions: (...actions: TemplateAction<any, any>[]) => added.push(...actions) }],
      ],
      features: [
        svcgenModule,
        createServiceFactory({ service: coreServices.urlReader, deps: {}, factory: () => reader }),
      ],
    });
    const workspacePath = await tempDir();
    let stopped = false;
    try {
      const outputs = new Map<string, unknown>();
      const ctx = createMockActionContext({
        workspacePath,
        logger: recordingLogger(),
        input: { templateSet: url, values: { serviceName: 'abc' } },
      });
      ctx.output = (name: string, value: unknown) => void outputs.set(name, value);
      await added[0].handler(ctx);
      assert.equal(outputs.get('templateSource'), url);
      assert.equal(reader.extractedTo.length, 1);
      const cacheRoot = path.dirname(reader.extractedTo[0]);
      await fs.access(cacheRoot);
      await backend.stop();
      stopped = true;
      await assert.rejects(fs.access(cacheRoot), 'the extracted sets are removed when the backend stops');
    } finally {
      if (!stopped) await backend.stop();
      await removeDir(workspacePath);
    }
  });
});
