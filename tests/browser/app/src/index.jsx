/*
 * The smallest real Backstage frontend for the browser test: the new frontend system's createApp
 * with the catalog and scaffolder plugins (their alpha features) and the svcgen preview field's
 * frontend module. Its config (app.baseUrl, backend.baseUrl) comes from the
 * <script type="backstage.io/config"> tag the test's static server writes into index.html, which
 * @backstage/core-app-api's default config loader reads. Sign-in: the app's default sign-in page
 * (the guest provider of the backend's auth plugin). The Backstage UI stylesheet is imported here, as
 * an app created by @backstage/create-app does.
 */
import '@backstage/ui/css/styles.css';
import ReactDOM from 'react-dom/client';
import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import scaffolderPlugin from '@backstage/plugin-scaffolder/alpha';
import { svcgenPreviewModule } from '@svcgen/plugin-scaffolder-svcgen-preview/alpha';

const app = createApp({
  features: [catalogPlugin, scaffolderPlugin, svcgenPreviewModule],
});

ReactDOM.createRoot(document.getElementById('root')).render(app.createRoot());
