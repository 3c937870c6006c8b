import{$ as i}from"./index-e_lmvp-X.js";const n=o=>["",...i].includes(o);export{n as i};
