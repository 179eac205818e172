#!/usr/bin/env node
// Makes this machine ready to build, test and run Agora: the npm packages, the real servers the
// tests talk to (nats-server, redis-server, Docker Engine), a running dockerd, the local task
// image, and with --tests Chromium for the web UI's test. It only looks when everything is
// there, so `npm test` and `npm start` can run it every time.
// Node built-ins only: it is what runs `npm ci` in a fresh clone.
//
//   node scripts/setup.js [--check] [--no-docker] [--quiet] [--tests]
//     --check      report what is missing, change nothing, exit 1 if anything is
//     --tests      also what only the test suite needs (Chromium); `npm test` passes it
//     --no-docker  skip Docker Engine, busybox and the task image (process containerizer only)
//     --quiet      print only what changes and what is wrong
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { execFileSync, spawn, spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const flags = process.argv.slice(2);
for (const f of flags) if (!['--check', '--no-docker', '--quiet', '--tests'].includes(f)) die(`unknown option ${f} (use --check, --no-docker, --quiet, --tests)`);
const CHECK = flags.includes('--check');
// What only the test suite needs (a browser for the services UI's test) comes with --tests.
const TESTS = flags.includes('--tests');
const DOCKER = !flags.includes('--no-docker');
const QUIET = flags.includes('--quiet');
// Not in the README: lets the image build be exercised without touching the image others run.
const IMAGE = process.env.AGORA_TASK_IMAGE || 'agora/busybox:latest';
const BUSYBOX = '/bin/busybox';
const DEFAULT_SOCKET = '/var/run/docker.sock';
const isRoot = process.getuid?.() === 0;

const PACKAGES = [
  { pkg: 'nats-server', bin: 'nats-server' },                 // agents ⇄ master, the offer log (JetStream)
  { pkg: 'redis-server', bin: 'redis-server' },               // the registry and leader election
  { pkg: 'openssl', bin: 'openssl' },                         // the cluster's CA and certificates (agora up, agora credentials)
  { pkg: 'docker.io', bin: 'dockerd', docker: true },         // the Docker containerizer
  { pkg: 'busybox-static', file: BUSYBOX, docker: true },     // the task image's one binary
  { pkg: 'chromium', bin: 'chromium', tests: true },           // the services UI's test drives it headless
];

let problems = 0;
const ok = (msg) => { if (!QUIET) console.log(`✓ ${msg}`); };
const doing = (msg) => console.log(`… ${msg}`);
const bad = (msg) => { problems++; console.error(`✗ ${msg}`); return false; };
function die(msg) { console.error(`✗ ${msg}`); process.exit(1); }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const can = (file, mode) => { try { fs.accessSync(file, mode); return true; } catch { return false; } };
const isExec = (file) => can(file, fs.constants.X_OK) && fs.statSync(file).isFile();

function which(bin) {
  for (const dir of (process.env.PATH || '').split(':')) if (dir && isExec(path.join(dir, bin))) return path.join(dir, bin);
  return null;
}

function readJson(rel) {
  try { return JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8')); } catch { return null; }
}

/** The last lines a log gained after byte `from`: older runs' lines would only mislead. */
function tail(file, from, lines) {
  try { return fs.readFileSync(file).subarray(from).toString('utf8').trimEnd().split('\n').slice(-lines).join('\n') || '(empty)'; } catch { return '(no log)'; }
}

function checkNode() {
  const v = process.versions.node;
  Number(v.split('.')[0]) >= 20 ? ok(`node ${v}`) : bad(`node ${v}: Agora needs Node 20 or newer`);
}

// `npm ci` wipes node_modules and takes a while, so it runs only when node_modules does not hold
// what the lock asks for. npm records what it installed in node_modules/.package-lock.json;
// comparing that with the lock is exact, where mtimes lie after a checkout or a copy.
function npmPackages() {
  const pkg = readJson('package.json') || die('cannot read package.json');
  const lock = readJson('package-lock.json');
  const have = readJson('node_modules/.package-lock.json')?.packages ?? {};
  const declared = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  let cmd = null;
  if (!lock) {
    if (declared.some((d) => !fs.existsSync(path.join(root, 'node_modules', d, 'package.json')))) cmd = 'install';
  } else if (declared.some((d) => !lock.packages?.[`node_modules/${d}`])) {
    cmd = 'install';                    // package.json moved ahead of the lock: `npm ci` would refuse
  } else if (Object.entries(lock.packages).some(([k, p]) => k && (have[k] ? have[k].version !== p.version : !p.optional))) {
    cmd = 'ci';                         // optional packages for other platforms are never installed
  }
  if (!cmd) return ok(lock ? 'node_modules matches package-lock.json' : 'node_modules');
  if (CHECK) return bad(`node_modules is missing or out of date: run npm ${cmd}`);
  doing(`npm ${cmd}`);
  const npm = (c) => spawnSync('npm', [c, '--no-audit', '--no-fund'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'inherit', c === 'ci' ? 'pipe' : 'inherit'] });
  let [r, ran] = [npm(cmd), cmd];
  // npm ci refuses a lock that lacks other platforms' optional packages (npm/cli#4828), which
  // npm install accepts as it is; one command must still work in a fresh clone.
  if (r.status !== 0 && cmd === 'ci') {
    const why = (r.stderr || '').split('\n').filter((l) => /^npm error \S/.test(l) && !l.startsWith('npm error code')).slice(0, 2).join('\n  ');
    doing(`npm ci failed, so npm install:\n  ${why}`);
    [r, ran] = [npm('install'), 'install'];
  }
  if (r.status !== 0) die(`npm ${ran} failed${r.error ? `: ${r.error.message}` : ''}`);
}

// One dpkg-query for all packages: a process per package would cost more than the rest of the run.
function dpkgVersions(names) {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Package}\t${db:Status-Abbrev}\t${Version}\n', ...names], { encoding: 'utf8' });
  const out = new Map();
  for (const line of (r.stdout || '').split('\n')) {
    const [name, status, version] = line.split('\t');
    if (status?.startsWith('ii')) out.set(name, version.replace(/^\d+:/, '').replace(/[-+~].*$/, ''));
  }
  return out;
}

function systemPackages() {
  const wanted = PACKAGES.filter((p) => (DOCKER || !p.docker) && (TESTS || !p.tests));
  const dpkg = dpkgVersions(wanted.map((p) => p.pkg));
  const haveDpkg = !!which('dpkg-query');
  const missing = [];
  for (const p of wanted) {
    const found = p.bin ? which(p.bin) : fs.existsSync(p.file) && p.file;
    // Debian's sbin binaries are spawned by name, so a PATH without /usr/sbin breaks tests late.
    const offPath = p.bin && !found && ['/usr/local/sbin', '/usr/sbin', '/sbin'].map((d) => path.join(d, p.bin)).find(isExec);
    if (offPath) bad(`${p.bin} is at ${offPath}, but ${path.dirname(offPath)} is not on PATH`);
    else if (dpkg.has(p.pkg) && found) ok(`${p.pkg} ${dpkg.get(p.pkg)}`);
    // Installed some other way (docker-ce, a tarball): fine, unless it is busybox, where only the
    // static build from busybox-static can live alone in an image with no libc.
    else if (found && !(p.file && haveDpkg)) ok(`${p.pkg}: ${found}`);
    else missing.push(p.pkg);
  }
  if (!missing.length) return;
  const list = missing.join(' ');
  if (CHECK) return bad(`missing: ${list} (install: apt-get install -y ${list})`);
  if (!fs.existsSync('/etc/debian_version') || !which('apt-get')) return bad(`missing: ${list}; install them with your package manager (these are the Debian names)`);
  if (!isRoot) return bad(`missing: ${list}; install them with: sudo apt-get install -y ${list}`);
  doing(`installing ${list} (apt-get)`);
  // No recommends: docker.io's would pull in git, apparmor and needrestart, which Agora never uses.
  // The lock timeout makes two setups started at once queue instead of failing.
  const apt = (args) => spawnSync('apt-get', ['-q', '-o', 'DPkg::Lock::Timeout=120', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  }).status === 0;
  if (!apt(['update'])) return bad('apt-get update failed');
  if (!apt(['install', '-y', '--no-install-recommends', ...missing])) return bad(`apt-get install ${list} failed`);
  const now = dpkgVersions(missing);
  for (const name of missing) now.has(name) ? ok(`${name} ${now.get(name)}`) : bad(`${name} still not installed`);
}

// ------------------------------------------------------------------ Docker, through its socket

function dockerEndpoint() {
  const host = process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port) || 2375 };
}

/** One request to the engine API. Never rejects: a dead socket is an answer too ({ status: 0 }). */
function docker(method, urlPath, body, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const headers = body ? { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } : {};
    const req = http.request({ ...dockerEndpoint(), method, path: urlPath, headers, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ status: 0, body: '', error }));
    req.end(body);
  });
}

async function ensureDockerd() {
  const ep = dockerEndpoint();
  const where = ep.socketPath || `${ep.host}:${ep.port}`;
  const ping = await docker('GET', '/_ping');
  if (ping.status !== 200) {
    if (ping.error?.code === 'EACCES') return bad(`cannot open ${where}: permission denied (run as root or join the docker group)`);
    if (CHECK) return bad(`no Docker engine answers on ${where}`);
    if (!ep.socketPath || !isRoot) return bad(`no Docker engine answers on ${where}; start one as root: dockerd &`);
    if (!(await startDockerd(ep.socketPath))) return false;
  }
  const v = await docker('GET', '/version');
  let version = '(version unknown)';
  try { version = JSON.parse(v.body).Version; } catch { /* an old or odd engine: the ping was enough */ }
  ok(`docker engine ${version} on ${where}`);
  return true;
}

// There is no systemd here, so dockerd runs as our child, detached into its own session so that
// Ctrl-C on `npm start` leaves it up, and logging to a file because nobody reads its stdout.
async function startDockerd(socketPath) {
  const bin = which('dockerd');
  if (!bin) return bad('dockerd is not installed (package docker.io)');
  const log = path.join(can('/var/log', fs.constants.W_OK) ? '/var/log' : os.tmpdir(), 'agora-dockerd.log');
  const fd = fs.openSync(log, 'a');
  const from = fs.fstatSync(fd).size;
  doing(`starting dockerd (log: ${log})`);
  const args = socketPath === DEFAULT_SOCKET ? [] : ['-H', `unix://${socketPath}`];
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  child.unref();
  let exited = null;
  child.on('error', (err) => { exited = { at: Date.now(), how: err.message }; });
  child.on('exit', (code, signal) => { exited = { at: Date.now(), how: signal ? `signal ${signal}` : `code ${code}` }; });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await docker('GET', '/_ping', null, 1000)).status === 200) return true;
    // Ours may have lost a race with a dockerd another setup started: give that one a moment.
    if (exited && Date.now() - exited.at > 5000) break;
    await sleep(250);
  }
  // A daemon that never answered is stopped rather than left half up to confuse the next run.
  if (!exited) child.kill('SIGTERM');
  const what = exited ? `dockerd exited (${exited.how})` : `dockerd (pid ${child.pid}) did not answer within 60 s; stopped it`;
  return bad(`${what}; no Docker engine on ${socketPath}. ${log} says:\n${tail(log, from, 20)}`);
}

// No registry is reachable, so the task image is built here from busybox-static alone: a static
// binary needs no libc beside it, and its applets give tasks a shell and the usual tools.
function rootfsTarball(dir) {
  for (const d of ['bin', 'etc', 'root', 'tmp']) fs.mkdirSync(path.join(dir, d));
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.chmodSync(path.join(dir, 'root'), 0o700);
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  // nobody exists so that tasks can run without root (CommandInfo.user).
  fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  // Named entries, not '.': the temp dir's 0700 mode must not become the image's '/'.
  return execFileSync('tar', ['-C', dir, '--numeric-owner', '--owner=0', '--group=0', '-c', 'bin', 'etc', 'root', 'tmp'],
    { maxBuffer: 64 << 20 });
}

async function ensureImage() {
  const found = await docker('GET', `/images/${IMAGE}/json`);
  if (found.status === 200) return ok(`image ${IMAGE}`);
  if (found.status !== 404) return bad(`cannot inspect image ${IMAGE}: ${found.status} ${found.body || found.error?.message}`);
  if (CHECK) return bad(`image ${IMAGE} is missing`);
  if (!fs.existsSync(BUSYBOX)) return bad(`cannot build ${IMAGE}: ${BUSYBOX} is missing (package busybox-static)`);
  doing(`building image ${IMAGE} from ${BUSYBOX}`);
  const colon = IMAGE.lastIndexOf(':');
  const [repo, tag] = colon > IMAGE.lastIndexOf('/') ? [IMAGE.slice(0, colon), IMAGE.slice(colon + 1)] : [IMAGE, 'latest'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-rootfs-'));
  let res;
  try {
    // `docker import`, through the engine API: the same socket everything else here uses.
    const query = new URLSearchParams({ fromSrc: '-', repo, tag, changes: 'CMD ["/bin/sh"]' });
    res = await docker('POST', `/images/create?${query}`, rootfsTarball(dir), 120_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // The engine answers 200 and then reports failures inside its JSON progress stream.
  const streamError = res.body.split('\n').map((l) => { try { return JSON.parse(l).error; } catch { return undefined; } }).find(Boolean);
  if (res.status !== 200 || streamError) return bad(`docker import of ${IMAGE} failed: ${streamError || res.body || res.error?.message}`);
  const built = await docker('GET', `/images/${IMAGE}/json`);
  if (built.status !== 200) return bad(`docker import reported success, but ${IMAGE} is not there`);
  ok(`image ${IMAGE} (built)`);
}

async function main() {
  checkNode();
  npmPackages();
  systemPackages();
  if (DOCKER && (await ensureDockerd())) await ensureImage();
  if (problems) die(`${problems} problem${problems > 1 ? 's' : ''} above; ${CHECK ? 'run without --check to fix what can be fixed' : 'fix them and run again'}`);
}

main().catch((err) => die(err.stack || String(err)));
