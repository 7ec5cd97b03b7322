import { FIXTURES } from './__testing__/helpers';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import svcgenModule from './index';

describe('svcgenModule', () => {
  it('adds svcgen:render to the scaffolder, with the configured template folders', async () => {
    const added: { id: string }[] = [];
    const backend = await startTestBackend({
      extensionPoints: [[scaffolderActionsExtensionPoint, { addActions: (...actions: { id: string }[]) => added.push(...actions) }]],
      features: [svcgenModule, mockServices.rootConfig.factory({ data: { svcgen: { templateDirs: [FIXTURES] } } })],
    });
    try {
      assert.deepEqual(
        added.map(a => a.id),
        ['svcgen:render'],
      );
      const action = added[0] as unknown as { schema: { input: { properties: { templateSet: { description: string } } } } };
      assert.match(action.schema.input.properties.templateSet.description, /template set/);
    } finally {
      await backend.stop();
    }
  });
});
