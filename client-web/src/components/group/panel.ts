/**
 * Opening and closing the group panel: it is shown while the route's query has
 * `panel=<tab>`, so the browser's Back button closes it and a link can open a tab.
 */
import type { RouteLocationNormalizedLoaded, Router } from 'vue-router';

import type { PanelTab } from './rules';

export const PANEL_TABS: readonly PanelTab[] = ['info', 'members', 'invites', 'roles', 'bans', 'audit'];

export const TAB_LABELS: Readonly<Record<PanelTab, string>> = {
  info: 'Info',
  members: 'Members',
  invites: 'Invites',
  roles: 'Roles',
  bans: 'Bans',
  audit: 'Audit log',
};

export function isPanelTab(value: unknown): value is PanelTab {
  return typeof value === 'string' && (PANEL_TABS as readonly string[]).includes(value);
}

/** The tab the route asks for, or null when the panel is closed. */
export function panelTabOf(route: RouteLocationNormalizedLoaded): PanelTab | null {
  const q = route.query.panel;
  const value = Array.isArray(q) ? q[0] : q;
  if (value === undefined || value === null) return null;
  return isPanelTab(value) ? value : 'info';
}

export function openGroupPanel(router: Router, route: RouteLocationNormalizedLoaded, tab: PanelTab = 'info'): Promise<unknown> {
  const already = panelTabOf(route) !== null;
  const to = { query: { ...route.query, panel: tab } };
  // Switching tabs replaces the history entry, so Back closes the panel.
  return already ? router.replace(to) : router.push(to);
}

export function closeGroupPanel(router: Router, route: RouteLocationNormalizedLoaded): Promise<unknown> {
  const query = { ...route.query };
  delete query.panel;
  return router.replace({ query });
}
