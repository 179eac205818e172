#!/usr/bin/env node
// Generates the static protobuf module (proto/gen/agora.js + .d.ts) from proto/agora/v1/*.proto,
// and copies it beside the compiled code in dist/. Skips the work when nothing changed.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'proto', 'agora', 'v1');
const genDir = path.join(root, 'proto', 'gen');
const out = path.join(genDir, 'agora.js');
const dts = path.join(genDir, 'agora.d.ts');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const sources = fs.readdirSync(srcDir).filter((f) => f.endsWith('.proto')).map((f) => path.join(srcDir, f));
const newest = Math.max(...sources.map((f) => fs.statSync(f).mtimeMs), fs.statSync(__filename).mtimeMs);
const fresh = fs.existsSync(out) && fs.existsSync(dts) && fs.statSync(dts).mtimeMs >= newest;

if (!fresh) {
  fs.mkdirSync(genDir, { recursive: true });
  execFileSync(bin('pbjs'), ['-t', 'static-module', '-w', 'commonjs', '--force-number', '--no-verify',
    '-p', path.join(root, 'proto'), '-o', out, ...sources], { stdio: 'inherit' });
  execFileSync(bin('pbts'), ['--no-comments', '-o', dts, out], { stdio: 'inherit' });
}
const distGen = path.join(root, 'dist', 'proto', 'gen');
fs.mkdirSync(distGen, { recursive: true });
fs.copyFileSync(out, path.join(distGen, 'agora.js'));
