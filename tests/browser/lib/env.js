'use strict';
/*
 * What the browser test and the benchmark share: the example backend (tests/e2e's helpers: the git
 * host stand-in, the test-only publish actions, the microservice template's e2e copy) with the
 * guest sign-in and CORS for the app's origin; a small static server for the built app (app/dist)
 * that writes the app's config into index.html; Debian's Chromium driven by playwright-core.
 */

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { Backend } = require('../../e2e/lib/backend');
const { GitHost } = require('../../e2e/lib/git');
const H = require('../../e2e/lib/harness');
const { writeTestTemplates } = require('../../e2e/lib/templates');

const APP_DIST = path.resolve(process.env.SVCGEN_BROWSER_APP_DIST || path.join(__dirname, '..', 'app', 'dist'));
const CHROMIUM = process.env.SVCGEN_CHROMIUM || '/usr/bin/chromium';
const TEMPLATE_PATH = '/create/templates/default/microservice-e2e';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** Serves app/dist; any path that is not a file gets index.html (the app's routes), with `config` in it. */
class AppServer {
  constructor(dir = APP_DIST) {
    this.dir = dir;
    this.config = {};
    this.bytesServed = 0;
  }

  async start() {
    if (!fs.existsSync(path.join(this.dir, 'index.html'))) throw new Error(`${this.dir}/index.html is missing: run node tests/browser/app/build.js`);
    this.port = await H.freePort();
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    this.unregister = H.onCleanup('app server', () => this.stop());
    return this;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  handle(req, res) {
    const url = new URL(req.url, this.baseUrl);
    const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = path.join(this.dir, rel);
    if (file.startsWith(this.dir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile() && !file.endsWith('index.html')) {
      const body = fs.readFileSync(file);
      this.bytesServed += body.length;
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(body);
      return;
    }
    if (path.extname(rel) && rel !== '/index.html') {
      res.writeHead(404).end('not found\n');
      return;
    }
    const config = JSON.stringify([{ context: 'svcgen-browser-test', data: this.config }]).replace(/</g, '\\u003c');
    const html = fs
      .readFileSync(path.join(this.dir, 'index.html'), 'utf8')
      .replace('<!--app-config-->', `<script type="backstage.io/config">${config}</script>`);
    res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-cache' });
    res.end(html);
  }

  async stop() {
    this.unregister?.();
    if (this.server) {
      this.server.closeAllConnections?.();
      await new Promise(resolve => this.server.close(resolve));
    }
    this.server = undefined;
  }
}

/**
 * Starts the git host, the app server and the backend; returns them with the templates written.
 * `name` labels the temp dir and logs; `extraTemplates` (Template entities) are registered too.
 */
async function startEnvironment(name, { extraTemplates = [] } = {}) {
  const work = H.tempDir(`browser-${name}`);
  const gitHost = await new GitHost(path.join(work, 'git')).start();
  const templates = writeTestTemplates(work);
  if (extraTemplates.length) {
    const { YAML } = require('../../e2e/lib/templates');
    const file = path.join(work, 'browser-templates.yaml');
    fs.writeFileSync(file, extraTemplates.map(t => YAML.stringify(t, { lineWidth: 0 })).join('---\n'));
    templates.locations.push({ type: 'file', target: file, rules: [{ allow: ['Template'] }] });
  }
  const app = await new AppServer().start();
  const token = `browser-${require('node:crypto').randomBytes(12).toString('hex')}`;
  fs.mkdirSync(path.join(work, 'scaffolder-workspaces'));
  const backend = new Backend({
    name: 'browser',
    workDir: work,
    token,
    config: {
      app: { baseUrl: app.baseUrl },
      backend: {
        workingDirectory: path.join(work, 'scaffolder-workspaces'),
        // The app is served from another origin than the backend (as `yarn start` of a Backstage
        // app is), with the CORS settings such a setup has: nothing exposed for svcgen (the preview
        // routes expose their own headers).
        cors: {
          origin: app.baseUrl,
          methods: ['GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'DELETE'],
          credentials: true,
        },
      },
      auth: {
        environment: 'development',
        providers: { guest: { dangerouslyAllowOutsideDevelopment: true, userEntityRef: 'user:default/guest' } },
      },
      catalog: { locations: templates.locations },
      integrations: gitHost.integrationConfig,
      e2eTestOnly: { localGit: { rootDir: gitHost.root, webBaseUrl: gitHost.baseUrl } },
    },
  });
  await backend.start();
  app.config = { app: { title: 'svcgen browser test', baseUrl: app.baseUrl }, backend: { baseUrl: backend.baseUrl } };
  const ready = await backend.waitReady({ templateRef: 'template:default/microservice-e2e' });
  return { work, gitHost, templates, app, backend, ready };
}

/** Headless Debian Chromium through playwright-core (nothing downloads a browser). */
async function launchChromium() {
  const { chromium } = require('playwright-core');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  H.onCleanup('chromium', () => browser.close());
  return browser;
}

/** A new page signed in as the guest (the app's default sign-in page), at `urlPath`. */
async function openSignedIn(browser, app, urlPath, { viewport = { width: 1400, height: 1000 }, onContext } = {}) {
  const context = await browser.newContext({ viewport });
  if (onContext) await onContext(context);
  const page = await context.newPage();
  page.on('pageerror', err => console.log(`# page error: ${err.message}`));
  await page.goto(`${app.baseUrl}${urlPath}`);
  const enter = page.getByRole('button', { name: 'Enter' });
  await enter.click({ timeout: 60_000 });
  return page;
}

module.exports = { APP_DIST, AppServer, CHROMIUM, TEMPLATE_PATH, launchChromium, openSignedIn, startEnvironment };
