#!/usr/bin/env node
// Runs the TypeScript entry point through tsx's loader, so `npx valley ...` works without a build.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
