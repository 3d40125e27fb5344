// The verdict stream: denied packets from nflog, resolved to pods, directions and isolating policies.
export { createMonitorHub, DEFAULT_HUB_LIMITS, type MonitorHub } from './hub.js';
export { MONITOR_PATH, monitorQuery, serveMonitor } from './http.js';
export { type Monitor, type MonitorOptions, startMonitor } from './monitor.js';
