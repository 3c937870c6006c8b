import{$ as i}from"./index-B7oxRyvT.js";const n=o=>["",...i].includes(o);export{n as i};
