import { readTree, recordingLogger, removeDir, tempDir, USER_SERVICE_VALUES } from '../__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { describe, it } from 'node:test';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import * as YAML from 'yaml';
import { createSvcgenRenderAction } from './render';
import { examples } from './render.examples';

/**
 * Resolves `${{ parameters }}` and `${{ parameters.name }}` the way the scaffolder does for a
 * value that is one whole expression (the only kind the examples use).
 */
function resolveParameters(value: unknown, parameters: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const match = /^\$\{\{\s*parameters(?:\.(\w+))?\s*\}\}$/.exec(value);
    if (match) return match[1] ? parameters[match[1]] : parameters;
    assert.doesNotMatch(value, /\$\{\{/, `unsupported expression in an example: ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map(v => resolveParameters(v, parameters));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveParameters(v, parameters)]));
  }
  return value;
}

describe('svcgen:render examples', () => {
  const action = createSvcgenRenderAction();

  it('are attached to the action', () => {
    assert.equal(action.examples, examples);
    assert.ok(examples.length >= 3);
  });

  examples.forEach((example, index) => {
    it(`example ${index + 1} renders: ${example.description}`, async () => {
      const parameters = YAML.parse(await fs.readFile(USER_SERVICE_VALUES, 'utf8'));
      const { steps } = YAML.parse(example.example);
      assert.equal(steps.length, 1);
      assert.equal(steps[0].action, 'svcgen:render');
      const input = resolveParameters(steps[0].input, parameters) as Record<string, any>;

      const workspacePath = await tempDir();
      try {
        const outputs = new Map<string, unknown>();
        const ctx = createMockActionContext({ workspacePath, input: input as any, logger: recordingLogger() });
        ctx.output = (name: string, value: unknown) => void outputs.set(name, value);
        await action.handler(ctx);

        const files = outputs.get('files') as string[];
        const onDisk = [...(await readTree(workspacePath)).keys()];
        assert.deepEqual([...files].sort(), onDisk.sort());
        const prefix = input.targetPath ? `${input.targetPath.replace(/^\.\//, '')}/` : '';
        assert.ok(files.includes(`${prefix}catalog-info.yaml`), files.join(', '));
        assert.equal(outputs.get('templateSet'), input.templateSet ?? 'microservice');
        const derived = outputs.get('derived') as Record<string, string>;
        assert.equal(derived.serviceSnake, String(input.values.serviceName).replace(/-/g, '_'));
      } finally {
        await removeDir(workspacePath);
      }
    });
  });
});
