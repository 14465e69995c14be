import { createPinia } from 'pinia';
import { createApp } from 'vue';

import App from './App.vue';
import './assets/main.css';
import './assets/emoji.css';
import { router } from './router';
import { useThemeStore } from './stores/theme';

const app = createApp(App);
app.use(createPinia());
app.use(router);
// Apply the stored theme before the first paint.
useThemeStore();
app.mount('#app');
