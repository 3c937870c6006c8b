import{f as i}from"./vue-CxbS0ajG.js";const t=()=>i&&/firefox/i.test(window.navigator.userAgent),s=()=>i&&/android/i.test(window.navigator.userAgent);export{s as a,t as i};
