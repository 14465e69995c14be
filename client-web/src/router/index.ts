import { createRouter, createWebHistory } from 'vue-router';

import { useSessionStore } from '@/stores/session';
import ChatsView from '@/views/ChatsView.vue';
import HomeView from '@/views/HomeView.vue';

declare module 'vue-router' {
  interface RouteMeta {
    /** Only for a signed-in user; others go to the login page. */
    requiresAuth?: boolean;
    /** Only for a signed-out user (login, register); others go home. */
    guestOnly?: boolean;
    /** Fills the window below the navbar (the chat layout), instead of a centred column. */
    fullWindow?: boolean;
  }
}

/** Client routes; the node answers any of them with index.html. */
export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    {
      path: '/',
      component: ChatsView,
      meta: { requiresAuth: true, fullWindow: true },
      children: [
        { path: '', name: 'home', component: HomeView, meta: { requiresAuth: true } },
        { path: 'chat/:group', name: 'chat', component: () => import('@/views/ChatView.vue'), meta: { requiresAuth: true } },
        { path: 'directory', name: 'directory', component: () => import('@/views/DirectoryView.vue'), meta: { requiresAuth: true } },
      ],
    },
    { path: '/group/:group/:tab?', name: 'group-panel', component: () => import('@/views/GroupPanelView.vue'), meta: { requiresAuth: true } },
    { path: '/join/:code', name: 'join', component: () => import('@/views/JoinLinkView.vue'), meta: { requiresAuth: true } },
    { path: '/login', name: 'login', component: () => import('@/views/LoginView.vue'), meta: { guestOnly: true } },
    { path: '/register', name: 'register', component: () => import('@/views/RegisterView.vue'), meta: { guestOnly: true } },
    { path: '/settings', redirect: '/settings/profile' },
    { path: '/settings/profile', name: 'profile', component: () => import('@/views/ProfileView.vue'), meta: { requiresAuth: true } },
    { path: '/settings/sessions', name: 'sessions', component: () => import('@/views/SessionsView.vue'), meta: { requiresAuth: true } },
    { path: '/settings/password', name: 'password', component: () => import('@/views/PasswordView.vue'), meta: { requiresAuth: true } },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
});

router.beforeEach(async (to) => {
  const session = useSessionStore();
  await session.restore();
  const signedIn = session.status === 'signedIn';
  if (to.meta.requiresAuth && !signedIn) {
    return to.fullPath === '/' ? { name: 'login' } : { name: 'login', query: { next: to.fullPath } };
  }
  if (to.meta.guestOnly && signedIn) return { name: 'home' };
  return true;
});

/** Where to go after signing in: `?next=` if it is a path of this app, else home. */
export function afterSignIn(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}
