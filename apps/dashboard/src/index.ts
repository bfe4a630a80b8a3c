export { createDashboard, type DashboardOptions, type DashboardHandler } from './dashboard';
export { startDashboardServer, dashboardToken, type RunningDashboard } from './server';
