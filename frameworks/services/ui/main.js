// The services web UI: its routes and views, in the page every Agora UI shares
// (/ui/shared/page.js: one live copy of the state, live.js, that every view draws from).
//
//   #/apps            view-apps.js         #/new            view-new.js
//   #/app/<id>        view-app.js          #/deployments    view-deployments.js
import { startPage } from '/ui/shared/page.js';
import { startLive } from './live.js';
import { appView } from './view-app.js';
import { appsView } from './view-apps.js';
import { deploymentsView } from './view-deployments.js';
import { newAppView } from './view-new.js';

const deploymentsCount = document.getElementById('deployments-count');

function viewFor(path, ctx) {
  if (path === '/apps') return appsView(ctx);
  if (path === '/new') return newAppView(ctx);
  if (path === '/deployments') return deploymentsView(ctx);
  if (path.startsWith('/app/')) return appView(ctx, path.slice('/app'.length));
  return undefined;
}

startPage({
  name: 'Agora services', home: '#/apps', viewFor, startLive, sections: { '#/apps': '#/app/' },
  changed: (state) => { deploymentsCount.textContent = state.deployments.length > 0 ? String(state.deployments.length) : ''; },
});
