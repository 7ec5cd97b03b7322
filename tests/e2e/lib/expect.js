'use strict';
/*
 * What a task should leave in git, derived from the preview and the template's own steps: the
 * service repository gets the rendered tree minus what the template's fs:delete steps remove;
 * each pull-request step proposes a subtree (sourcePath, placed at targetPath).
 */

const { readTree } = require('./git');
const { diffTrees } = require('./preview');
const { TEST_PULL_REQUEST_ACTION } = require('./templates');

const norm = p => p.replace(/^\.\//, '').replace(/\/+$/, '');

/** Workspace paths the template's fs:delete steps remove (only literal, unconditional inputs). */
function deletedPaths(template) {
  const out = [];
  for (const step of template.spec.steps) {
    if (step.action !== 'fs:delete') continue;
    const files = step.input?.files ?? [];
    if (step.if !== undefined || files.some(f => typeof f !== 'string' || f.includes('${{'))) {
      throw new Error(`step ${step.id}: the e2e tests only understand literal, unconditional fs:delete inputs`);
    }
    out.push(...files.map(norm));
  }
  return out;
}

const under = (p, dir) => dir === '' || dir === '.' || p === dir || p.startsWith(`${dir}/`);

/** The tree without the deleted paths. */
function withoutDeleted(tree, template) {
  const deleted = deletedPaths(template);
  return new Map([...tree].filter(([p]) => !deleted.some(d => under(p, d))));
}

/** The files of `tree` under `source`, placed at `target`. */
function moved(tree, source, target) {
  const s = norm(source) === '.' ? '' : norm(source);
  const t = norm(target) === '.' ? '' : norm(target);
  const out = new Map();
  for (const [p, f] of tree) {
    if (!under(p, s)) continue;
    const rel = s ? p.slice(s.length + 1) : p;
    out.set(t ? `${t}/${rel}` : rel, f);
  }
  return out;
}

/** The changes the pull-request stand-in pushed, from the task's log. */
function proposals(events) {
  const re = /e2e: proposed (\S+) at (\S+) as branch (\S+) of (\S+) \(([0-9a-f]{40})\)/;
  return events
    .map(e => (e.type === 'log' ? re.exec(e.body.message ?? '') : null))
    .filter(Boolean)
    .map(([, source, target, branch, bare, commit]) => ({ source, target, branch, bare, commit }));
}

/**
 * Checks the pull requests a task proposed: one per pull-request step that completed, each the
 * preview's subtree. Returns the problems ([] when right).
 */
function checkProposals(events, template, previewTree) {
  const prSteps = template.spec.steps.filter(s => s.action === TEST_PULL_REQUEST_ACTION).map(s => s.id);
  const ran = prSteps.filter(id => events.some(e => e.body?.stepId === id && e.body?.status === 'completed'));
  const found = proposals(events);
  const problems = [];
  if (found.length !== ran.length) problems.push(`${ran.length} pull-request steps completed, ${found.length} changes pushed`);
  for (const p of found) {
    const expected = moved(previewTree, p.source, p.target);
    if (!expected.size) problems.push(`${p.branch}: the preview has nothing under ${p.source}`);
    const pushed = readTree(p.bare, p.branch);
    problems.push(...diffTrees(expected, pushed, { actualName: `branch ${p.branch}` }).map(d => `${p.branch}: ${d}`));
  }
  return problems;
}

module.exports = { checkProposals, deletedPaths, moved, proposals, withoutDeleted };
