import { FIXTURES, recordingLogger, removeDir, tempDir } from './__testing__/helpers';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { scaffolderActionsExtensionPoint, TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import svcgenModule from './index';

describe('svcgenModule', () => {
  it('adds svcgen:render to the scaffolder, with the configured template folders', async () => {
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
        ['svcgen:render'],
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
});
