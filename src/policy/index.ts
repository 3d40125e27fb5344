export * from './endpoint.js';
export * from './selector.js';
export * from './ipblock.js';
export * from './ports.js';
export * from './isolation.js';
export * from './peers.js';
export * from './verdict.js';
export * from './diagnose.js';
