'use strict';
/*
 * Driving the microservice template's form in the page (the real Backstage scaffolder form,
 * @rjsf with Material UI) and reading the svcgen preview's DOM (its test hooks, see
 * /plugin-ts/frontend: data-testid svcgen-preview, -preview-status, -problem, -file,
 * -file-contents).
 */

const STEPS = ['Service', 'Stack', 'Repository and delivery', 'Deployment', 'Advanced options', 'Preview'];
const PREVIEW_STEP = STEPS.indexOf('Preview');

const sel = {
  root: '[data-testid="svcgen-preview"]',
  status: '[data-testid="svcgen-preview-status"]',
  problem: '[data-testid="svcgen-problem"]',
  file: '[data-testid="svcgen-file"]',
  contents: '[data-testid="svcgen-file-contents"]',
};

class Form {
  constructor(page) {
    this.page = page;
    this.step = 0;
  }

  async waitLoaded() {
    await this.page.getByLabel('Service name').waitFor({ timeout: 60_000 });
    this.step = 0;
  }

  async next() {
    // The last step before the scaffolder's own review labels its button "Review".
    await this.page.getByRole('button', { name: /^(Next|Review)$/ }).click();
    this.step += 1;
  }

  async back() {
    await this.page.getByRole('button', { name: 'Back', exact: true }).click();
    this.step -= 1;
  }

  /** Moves to step `n` (0-based) with Back/Next. */
  async goTo(n) {
    while (this.step < n) await this.next();
    while (this.step > n) await this.back();
    await this.page.getByText(STEPS[n] ?? 'Review', { exact: true }).first().waitFor();
  }

  async fillText(label, value) {
    await this.page.getByLabel(label, { exact: true }).fill(value);
  }

  /** A Material UI select of the form: opens it and picks the option by its shown name. */
  async select(label, optionName) {
    await this.page.getByLabel(label).click();
    await this.page.getByRole('option', { name: optionName, exact: true }).click();
    await this.page.getByRole('listbox').waitFor({ state: 'detached' });
  }

  /** Fills every required answer, from step 0 up to the preview's step. */
  async fillRequired({ serviceName, owner, repoOwner, repo }) {
    await this.goTo(0);
    await this.page.getByLabel('Service name').fill(serviceName);
    await this.page.getByLabel('Owner').fill(owner);
    await this.page.keyboard.press('Tab');
    await this.goTo(STEPS.indexOf('Repository and delivery'));
    await this.page.getByLabel('Owner').fill(repoOwner);
    await this.page.getByLabel('Repository').fill(repo);
    await this.page.keyboard.press('Tab');
    await this.goTo(PREVIEW_STEP);
  }

  async setServiceName(name) {
    await this.goTo(0);
    await this.page.getByLabel('Service name').fill(name);
    await this.goTo(PREVIEW_STEP);
  }

  async setApiType(name) {
    await this.goTo(STEPS.indexOf('Stack'));
    await this.select('API type', name);
    await this.goTo(PREVIEW_STEP);
  }

  /** From the preview's step: to the scaffolder's own review step, then Create; returns the task id. */
  async create() {
    await this.goTo(PREVIEW_STEP);
    await this.next();
    await this.page.getByRole('button', { name: 'Create', exact: true }).click();
    await this.page.waitForURL(/\/create\/tasks\/[0-9a-f-]{36}/, { timeout: 30_000 });
    return /\/create\/tasks\/([0-9a-f-]{36})/.exec(this.page.url())[1];
  }
}

/** Waits until the preview's status is `ready` (or starts with `prefix`); returns the text. */
async function waitStatus(page, prefix = 'ready', timeoutMs = 60_000) {
  const status = page.locator(sel.status);
  await status.waitFor({ timeout: timeoutMs });
  await page.waitForFunction(
    ([s, p]) => (document.querySelector(s)?.textContent ?? '').trim().startsWith(p),
    [sel.status, prefix],
    { timeout: timeoutMs },
  );
  return (await status.textContent()).trim();
}

/** The preview as the page shows it: problems [{field, text}] and files Map path → size. */
async function readPreview(page) {
  return page.evaluate(s => {
    const problems = [...document.querySelectorAll(s.problem)].map(e => ({ field: e.dataset.field, text: e.textContent.trim() }));
    const files = [...document.querySelectorAll(s.file)].map(e => [e.dataset.path, Number(e.dataset.size)]);
    const root = document.querySelector(s.root);
    return { problems, files, renderMs: Number(root?.dataset.renderMs), updatedAt: Number(root?.dataset.updatedAt) };
  }, sel).then(p => ({ ...p, files: new Map(p.files) }));
}

module.exports = { Form, PREVIEW_STEP, STEPS, readPreview, sel, waitStatus };
