/*
 * TEST-ONLY. Never load this in a real Backstage.
 *
 * The end-to-end tests (tests/e2e) run without a git server, so they cannot use the publish
 * actions of the GitHub and GitLab modules. This module adds two stand-ins that accept the same
 * inputs and give the outputs templates read, working on bare repositories under
 * `e2eTestOnly.localGit.rootDir`, named after the `repoUrl` (`host?owner=o&repo=r` → `<rootDir>/o/r.git`):
 * - `e2e:publish:local-git` for publish:github / publish:gitlab: commits the workspace and pushes
 *   it as `main` of a new repository;
 * - `e2e:publish:local-git-pull-request` for publish:github:pull-request /
 *   publish:gitlab:merge-request: pushes the branch `branchName` that such a request proposes:
 *   one commit on top of the target branch (when the repository has it) with the files of
 *   `sourcePath` written at `targetPath` and `filesToDelete` removed, as the GitHub action's
 *   commit does (it adds and changes files, and deletes only those listed).
 * The URLs they output point at a small git file server that the tests run
 * (`e2eTestOnly.localGit.webBaseUrl`), registered as a GitHub integration so that
 * catalog:register can read the pushed catalog-info.yaml.
 *
 * src/index.js adds this module only when SVCGEN_E2E_TEST_ONLY_MODULES=1.
 */
'use strict';

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const { coreServices, createBackendModule, resolveSafeChildPath } = require('@backstage/backend-plugin-api');
const { createTemplateAction, scaffolderActionsExtensionPoint } = require('@backstage/plugin-scaffolder-node');

const run = promisify(execFile);

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'Scaffolder',
  GIT_AUTHOR_EMAIL: 'scaffolder@example.invalid',
  GIT_COMMITTER_NAME: 'Scaffolder',
  GIT_COMMITTER_EMAIL: 'scaffolder@example.invalid',
};

async function git(args, cwd) {
  const env = { ...process.env, ...GIT_IDENTITY, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  const { stdout } = await run('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

function parseRepoUrl(repoUrl) {
  const q = repoUrl.indexOf('?');
  if (q <= 0) throw new Error(`e2e:publish:local-git: repoUrl ${JSON.stringify(repoUrl)} is not host?owner=o&repo=r`);
  const params = new URLSearchParams(repoUrl.slice(q + 1));
  const owner = params.get('owner') ?? params.get('organization') ?? params.get('group') ?? 'default';
  const repo = params.get('repo');
  const safe = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
  if (!repo || !safe.test(repo) || !safe.test(owner)) {
    throw new Error(`e2e:publish:local-git: repoUrl ${JSON.stringify(repoUrl)} needs a plain owner and repo`);
  }
  return { owner, repo };
}

function createLocalGitPublishAction({ rootDir, webBaseUrl, delayMs }) {
  return createTemplateAction({
    id: 'e2e:publish:local-git',
    description:
      'TEST-ONLY stand-in for publish:github/publish:gitlab: pushes the workspace to a local bare repository.',
    schema: {
      input: {
        repoUrl: z => z.string({ description: 'host?owner=o&repo=r, as for publish:github' }),
        description: z => z.string({ description: 'ignored' }).optional(),
        defaultBranch: z => z.string({ description: 'branch to push (default main)' }).optional(),
        repoVisibility: z => z.string({ description: 'ignored' }).optional(),
      },
      output: {
        remoteUrl: z => z.string({ description: 'web URL of the repository' }),
        repoContentsUrl: z => z.string({ description: 'web URL of the pushed tree' }),
        commitHash: z => z.string({ description: 'the pushed commit' }),
        bareRepoPath: z => z.string({ description: 'where the bare repository is on disk' }),
      },
    },
    async handler(ctx) {
      const { owner, repo } = parseRepoUrl(ctx.input.repoUrl);
      const branch = ctx.input.defaultBranch ?? 'main';
      if (delayMs > 0) {
        ctx.logger.info(`e2e: waiting ${delayMs} ms before pushing (e2eTestOnly.localGit.delayMs)`);
        await new Promise(resolve => setTimeout(resolve, delayMs));
      }
      const bare = path.join(rootDir, owner, `${repo}.git`);
      if (fs.existsSync(bare)) {
        throw new Error(`e2e:publish:local-git: repository ${owner}/${repo} already exists`);
      }
      await fs.promises.mkdir(path.dirname(bare), { recursive: true });
      await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare]);

      const ws = ctx.workspacePath;
      await git(['init', '--quiet', `--initial-branch=${branch}`], ws);
      await git(['add', '--all'], ws);
      await git(['commit', '--quiet', '--no-verify', '-m', 'Initial commit from the svcgen template'], ws);
      const commitHash = await git(['rev-parse', 'HEAD'], ws);
      await git(['push', '--quiet', bare, `HEAD:refs/heads/${branch}`], ws);
      ctx.logger.info(`e2e: pushed ${commitHash} to ${bare} (${branch})`);

      const remoteUrl = `${webBaseUrl}/${owner}/${repo}`;
      ctx.output('remoteUrl', remoteUrl);
      ctx.output('repoContentsUrl', `${remoteUrl}/blob/${branch}`);
      ctx.output('commitHash', commitHash);
      ctx.output('bareRepoPath', bare);
    },
  });
}

/** Creates the bare repository if needed; safe when several tasks or replicas race for it. */
async function ensureBareRepo(bare) {
  await fs.promises.mkdir(path.dirname(bare), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise(resolve => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }
}

// Inputs of publish:github:pull-request and publish:gitlab:merge-request that the stand-in accepts
// and ignores (the input schema is strict: a template may pass any of them).
const IGNORED_PR_INPUTS = [
  'draft', 'token', 'reviewers', 'assignees', 'teamReviewers',
  'forceFork', 'gitAuthorName', 'gitAuthorEmail', 'forceEmptyGitAuthor', 'createWhenEmpty',
  'commitAction', 'projectid', 'removeSourceBranch', 'assignee', 'assignReviewersFromApprovalRules',
  'labels', 'autoMerge',
];

function createLocalGitPullRequestAction({ rootDir, webBaseUrl }) {
  const input = {
    repoUrl: z => z.string({ description: 'host?owner=o&repo=r of the repository to change' }),
    branchName: z => z.string({ description: 'the branch that carries the change' }),
    title: z => z.string({ description: 'title of the pull request' }),
    description: z => z.string({ description: 'ignored' }).optional(),
    sourcePath: z => z.string({ description: 'workspace folder to propose (default: the workspace)' }).optional(),
    targetPath: z => z.string({ description: 'where its files go in the repository (default: the root)' }).optional(),
    commitMessage: z => z.string({ description: 'commit message (default: the title)' }).optional(),
    targetBranchName: z => z.string({ description: 'the branch the change targets (default main)' }).optional(),
    filesToDelete: z => z.array(z.string(), { description: 'paths (under targetPath) to delete' }).optional(),
    update: z => z.boolean({ description: 'replace the branch when it exists' }).optional(),
  };
  for (const name of IGNORED_PR_INPUTS) input[name] = z => z.unknown({ description: 'ignored' }).optional();
  return createTemplateAction({
    id: 'e2e:publish:local-git-pull-request',
    description:
      'TEST-ONLY stand-in for publish:github:pull-request/publish:gitlab:merge-request: pushes sourcePath as a branch of a local bare repository.',
    schema: {
      input,
      output: {
        remoteUrl: z => z.string({ description: 'web URL of the change' }),
        mergeRequestUrl: z => z.string({ description: 'web URL of the change (GitLab name)' }),
        targetBranchName: z => z.string({ description: 'the branch the change targets' }),
        pullRequestNumber: z => z.number({ description: 'always 1' }),
        commitHash: z => z.string({ description: 'the pushed commit' }),
      },
    },
    async handler(ctx) {
      const { owner, repo } = parseRepoUrl(ctx.input.repoUrl);
      const { branchName } = ctx.input;
      const targetBranch = ctx.input.targetBranchName ?? 'main';
      const source = resolveSafeChildPath(ctx.workspacePath, ctx.input.sourcePath ?? '.');
      const stage = await ctx.createTemporaryDirectory();
      const bare = path.join(rootDir, owner, `${repo}.git`);
      await ensureBareRepo(bare);
      const hasTarget = await git(['--git-dir', bare, 'branch', '--list', targetBranch], stage);
      if (hasTarget) {
        // On top of the target branch, as a pull request's commit is.
        await git(['clone', '--quiet', '--branch', targetBranch, bare, '.'], stage);
        await git(['checkout', '--quiet', '-b', branchName], stage);
      } else {
        await git(['init', '--quiet', `--initial-branch=${branchName}`], stage);
      }
      const target = resolveSafeChildPath(stage, ctx.input.targetPath ?? '.');
      await fs.promises.mkdir(target, { recursive: true });
      await fs.promises.cp(source, target, { recursive: true, filter: src => path.basename(src) !== '.git' });
      for (const file of ctx.input.filesToDelete ?? []) await fs.promises.rm(resolveSafeChildPath(target, file), { force: true });
      await git(['add', '--all'], stage);
      await git(['commit', '--quiet', '--no-verify', '-m', ctx.input.commitMessage ?? ctx.input.title], stage);
      const commitHash = await git(['rev-parse', 'HEAD'], stage);
      // A new branch, as a pull request from a fresh branch would be; an existing one only with `update`.
      await git(['push', '--quiet', ...(ctx.input.update ? ['--force'] : []), bare, `HEAD:refs/heads/${branchName}`], stage);
      const sourceShown = path.relative(ctx.workspacePath, source).split(path.sep).join('/') || '.';
      const targetShown = path.relative(stage, target).split(path.sep).join('/') || '.';
      ctx.logger.info(`e2e: proposed ${sourceShown} at ${targetShown} as branch ${branchName} of ${bare} (${commitHash})`);
      const url = `${webBaseUrl}/${owner}/${repo}/compare/${encodeURIComponent(branchName)}`;
      ctx.output('remoteUrl', url);
      ctx.output('mergeRequestUrl', url);
      ctx.output('targetBranchName', targetBranch);
      ctx.output('pullRequestNumber', 1);
      ctx.output('commitHash', commitHash);
    },
  });
}

/** TEST-ONLY backend module: adds the `e2e:publish:local-git*` stand-ins to the scaffolder. */
const e2eTestOnlyModule = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'e2e-test-only-local-git',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ scaffolder, config, logger }) {
        const rootDir = path.resolve(config.getString('e2eTestOnly.localGit.rootDir'));
        const webBaseUrl = config.getString('e2eTestOnly.localGit.webBaseUrl').replace(/\/+$/, '');
        const delayMs = config.getOptionalNumber('e2eTestOnly.localGit.delayMs') ?? 0;
        logger.warn(`TEST-ONLY module loaded: e2e:publish:local-git* push to ${rootDir}`);
        scaffolder.addActions(
          createLocalGitPublishAction({ rootDir, webBaseUrl, delayMs }),
          createLocalGitPullRequestAction({ rootDir, webBaseUrl }),
        );
      },
    });
  },
});

module.exports = { e2eTestOnlyModule, createLocalGitPublishAction, createLocalGitPullRequestAction, parseRepoUrl };
