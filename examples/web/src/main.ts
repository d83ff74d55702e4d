import { startApp } from "./app";

const root = document.querySelector<HTMLElement>("#app");
if (root) startApp(root);
